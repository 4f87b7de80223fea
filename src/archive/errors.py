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
    """One bad row in an imported file (row numbers as the user sees them in Excel)."""

    def __init__(self, row: int, reason: str, column: str | None = None) -> None:
        self.row = row
        self.reason = reason
        self.column = column

    def __str__(self) -> str:
        where = f"第{self.row}行"
        if self.column:
            where += f"「{self.column}」列"
        return f"  {where}：{self.reason}"

    def to_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


class NotFoundError(ArchiveError):
    """A household, document or file the user named does not exist."""
