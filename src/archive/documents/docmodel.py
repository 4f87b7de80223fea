"""A rendered document: blocks of finished text, independent of the output format.

Templates (templates.py) produce it; the PDF and DOCX writers consume it, so one template
source gives both outputs with the same content.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    kind: str  # title, subtitle, number, heading, paragraph, form, table, signatures, sign_off, spacer, page_break, cut_line
    text: str = ""
    font: str | None = None
    size: float | None = None
    align: str | None = None
    indent: float | None = None
    bold: bool = False
    # form and table
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    heights: list[float] = field(default_factory=list)  # per row, in lines (forms)
    # signatures: one line each; sign_off: org and date
    lines: list[str] = field(default_factory=list)
    with_date: bool = False
    org: str = ""
    date: str = ""
    seal: bool = False
    amount: float = 0.0  # spacer height in lines

    def plain_text(self) -> str:
        if self.kind in ("form", "table"):
            rows = ([self.header] if self.header else []) + self.rows
            return "\n".join("  ".join(cell for cell in row if cell) for row in rows)
        if self.kind == "signatures":
            return "\n".join(self.lines)
        if self.kind == "sign_off":
            return f"{self.org}\n{self.date}"
        return self.text


@dataclass
class Document:
    title: str
    body: list[Block]
    stub: list[Block] | None = None
    doc_id: str = ""
    number: str | None = None

    def plain_text(self) -> str:
        parts = [block.plain_text() for block in self.body]
        if self.stub:
            parts += [block.plain_text() for block in self.stub]
        return "\n".join(part for part in parts if part)
