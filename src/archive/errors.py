"""User-facing errors. Messages are Chinese; they say what is wrong and where."""

from __future__ import annotations


class ArchiveError(Exception):
    """An error the user can act on. The CLI prints the message and exits non-zero."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n提示：{self.hint}"
        return self.message


class ConfigError(ArchiveError):
    """The archive home or its configuration is missing or invalid."""


class TemplateError(ArchiveError):
    """A document template is invalid, or a field it needs was not provided."""


class RosterError(ArchiveError):
    """A roster file could not be imported; carries every bad row."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None) -> None:
        self.problems = problems or []
        lines = [message] + [str(p) for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"……另有 {len(self.problems) - 50} 处问题未列出")
        super().__init__("\n".join(lines))


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
