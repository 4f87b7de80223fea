"""User-facing errors. Messages are Chinese; they say what is wrong and where."""

from __future__ import annotations

import errno
from enum import IntEnum


class ExitCode(IntEnum):
    """The CLI's exit codes (documented in docs/ARCHITECTURE.md, 退出码与 JSON 输出)."""

    OK = 0
    PROBLEMS = 1  # the command ran and found problems (verify, reconcile, check-index, verify-signature)
    USAGE = 2  # the command line is wrong (click's own errors, missing or conflicting options)
    NOT_FOUND = 3  # a household, document, file or archive home named by the user does not exist
    BAD_INPUT = 4  # a file or value the user gave is invalid (roster, template, data file, image, certificate)
    CONFLICT = 5  # the action conflicts with the archive's state, or a lock is held by another process


class ArchiveError(Exception):
    """An error the user can act on. The CLI prints the message and exits with `exit_code`;
    under --json it prints `to_json()` on stderr. Subclasses say which class of failure it is."""

    exit_code: int = ExitCode.BAD_INPUT
    kind: str = "bad_input"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n提示：{self.hint}"
        return self.message

    def to_json(self) -> dict[str, object]:
        """The error as one JSON object: Chinese message, exit code and kind (and hint if any)."""
        out: dict[str, object] = {"error": self.message, "code": int(self.exit_code), "kind": self.kind}
        if self.hint:
            out["hint"] = self.hint
        return out


class UnavailableError(ArchiveError):
    """A service the deployment needs does not answer: the task queue (Redis), or no OCR worker
    serves the queue. Nothing was changed; running the command again once it is up succeeds.
    Exit code 4, as every ArchiveError not classified otherwise."""

    exit_code = ExitCode.BAD_INPUT
    kind = "unavailable"


class UsageError(ArchiveError):
    """The command line asks for something impossible (options missing or contradicting)."""

    exit_code = ExitCode.USAGE
    kind = "usage"


class BadInputError(ArchiveError):
    """A file or value the user supplied is invalid."""

    exit_code = ExitCode.BAD_INPUT
    kind = "bad_input"


class ConflictError(ArchiveError):
    """The action conflicts with what the archive already records (a month filed, a document
    signed or voided, a move to where it already is)."""

    exit_code = ExitCode.CONFLICT
    kind = "conflict"


class LockedError(ConflictError):
    """Another process holds a lock the action needs; running it again later succeeds."""

    kind = "locked"


class ConfigError(BadInputError):
    """The archive home or its configuration is missing or invalid."""

    kind = "config"


class TemplateError(BadInputError):
    """A document template is invalid, or a field it needs was not provided."""


class RosterError(BadInputError):
    """A roster file could not be imported; carries every bad row."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None) -> None:
        self.problems = problems or []
        lines = [message] + [str(p) for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"……另有 {len(self.problems) - 50} 处问题未列出")
        super().__init__("\n".join(lines))
        self.summary = message

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "error": self.summary, "problems": [p.to_dict() for p in self.problems]}


class RowProblem:
    """One finding about a row of an imported file (row numbers as the user sees them in Excel):
    where (row, column), what (message) and how to fix it (hint). `level` is "error" (
    blocks the import), "warning" (imported, but check it) or "note" (what the import changed)."""

    def __init__(self, row: int, reason: str, column: str | None = None, *,
                 hint: str | None = None, level: str = "error") -> None:
        self.row = row
        self.reason = reason
        self.column = column
        self.hint = hint
        self.level = level

    @property
    def message(self) -> str:
        return self.reason

    def __str__(self) -> str:
        where = f"第{self.row}行"
        if self.column:
            where += f"「{self.column}」列"
        text = f"  {where}：{self.reason}"
        if self.hint:
            text += f"。提示：{self.hint}"
        return text

    def __repr__(self) -> str:
        return f"RowProblem({self.row!r}, {self.reason!r}, {self.column!r}, level={self.level!r})"

    def to_json(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.reason, "hint": self.hint,
                "level": self.level}

    def to_dict(self) -> dict[str, object]:
        return {**self.to_json(), "reason": self.reason}


class NotFoundError(ArchiveError):
    """A household, document or file the user named does not exist."""

    exit_code = ExitCode.NOT_FOUND
    kind = "not_found"


class HomeMissingError(NotFoundError, ConfigError):
    """The archive home (its configuration or catalog) does not exist yet."""


class HomeExistsError(ConflictError, ConfigError):
    """`init` on a folder that already is an archive home."""


class SchemaError(ConflictError):
    """The catalog's schema is not the one this program was written for: older (run
    `archive upgrade`) or newer (install the newer program)."""

    kind = "schema"


def os_error_text(exc: OSError) -> str:
    """What an operating-system error reading or writing a file means, in Chinese (the system's own
    message is English on most machines)."""
    if isinstance(exc, FileNotFoundError):
        return "找不到文件"
    if isinstance(exc, IsADirectoryError):
        return "这是一个文件夹，不是文件"
    if isinstance(exc, NotADirectoryError):
        return "路径中的某一级不是文件夹"
    if isinstance(exc, PermissionError):
        return "没有读取或写入的权限"
    return _ERRNO_TEXT.get(exc.errno, "读写出错，磁盘或文件可能有问题")


_ERRNO_TEXT = {
    errno.ENOSPC: "磁盘已满",
    errno.EROFS: "磁盘是只读的",
    errno.ENAMETOOLONG: "文件名太长",
    errno.ELOOP: "链接层数太多（可能是循环链接）",
    errno.EMFILE: "同时打开的文件太多",
    errno.EIO: "磁盘读写错误（硬件或网络盘故障）",
    errno.EEXIST: "文件已存在",
    errno.EXDEV: "不能跨磁盘移动文件",
}


def error_text(exc: BaseException) -> str:
    """Any unexpected failure as a Chinese phrase for a message a user reads: an operating-system
    error says what went wrong with the file; anything else says that the file could not be
    understood, naming the internal error class only as a reference for the maintainers."""
    if isinstance(exc, OSError):
        return os_error_text(exc)
    if isinstance(exc, MemoryError):
        return "内存不足"
    if isinstance(exc, ArchiveError):
        return exc.message
    if isinstance(exc, (ValueError, KeyError, IndexError, TypeError, AttributeError, LookupError,
                        UnicodeError, EOFError)):
        return f"文件内容格式不对，无法解析（内部代码 {type(exc).__name__}）"
    return f"程序内部错误，请把此信息告知维护人员（内部代码 {type(exc).__name__}）"
