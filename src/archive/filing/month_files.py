"""What a month's filing left to download: the 归档文件目录 (PDF, XLSX), the 盒脊与备考表 (PDF
as filed; XLSX made on request from the boxes, not stored), the 完整性报告, and the month's 花名册
and 统计表 (XLSX documents). Also the month's filing state as the month page shows it before
filing: open, filed (with documents that came late, which need the month reopened), or reopened.
Each download is recorded in the audit log."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from archive.catalog import audit, transaction
from archive.errors import NotFoundError
from archive.filing import catalogue
from archive.filing.late import late_documents, late_message
from archive.home import Home

# the month-level outputs of file-month, by the start of their names, in the order shown
OUTPUT_TITLES = {"归档文件目录": "归档文件目录", "盒脊与备考表": "盒脊与备考表", "完整性报告": "归档完整性报告"}
BOX_SHEET_HEADER = ["全宗号", "年度", "保管期限", "村(社区)", "盒号", "起止件号", "件数", "备考", "整理人", "整理日期"]
BOX_SHEET_WIDTHS = [20, 14, 18, 30, 12, 30, 12, 80, 20, 26]
MEDIA = {".pdf": "application/pdf", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass
class MonthFile:
    name: str          # file name offered for download, e.g. 归档文件目录-2025-07.xlsx
    title: str
    format: str        # PDF / XLSX
    path: str | None   # relative to the home; None for one made on request


@dataclass
class MonthFiling:
    month: str                      # YYYY-MM
    status: str                     # open / filed / reopened
    late: int = 0                   # documents of the closed month waiting to be filed
    files: list[MonthFile] = field(default_factory=list)
    sheets: list[tuple[str, str]] = field(default_factory=list)   # (doc_id, title) of the month's XLSX documents

    @property
    def late_message(self) -> str:
        return late_message(self.month, self.late) if self.late else ""

    @property
    def can_file(self) -> bool:
        """Filing would do something: the month is open or reopened (a filed month changes nothing)."""
        return self.status != "filed"


def month_filing(home: Home, month: dt.date) -> MonthFiling:
    prefix = month.strftime("%Y-%m")
    row = home.db.execute("SELECT status, report FROM filing_months WHERE month=?", (prefix,)).fetchone()
    status = row["status"] if row is not None else "open"
    late = late_documents(home.db, prefix)
    result = MonthFiling(prefix, status, late=len(late[0].doc_ids) if late else 0)
    outputs = json.loads(row["report"] or "{}").get("outputs", {}) if row is not None else {}
    for start, title in OUTPUT_TITLES.items():
        for suffix in (".pdf", ".xlsx"):
            name = f"{start}-{prefix}{suffix}"
            if name in outputs:
                result.files.append(MonthFile(name, title, suffix[1:].upper(), outputs[name]))
            elif start == "盒脊与备考表" and suffix == ".xlsx" and f"{start}-{prefix}.pdf" in outputs:
                result.files.append(MonthFile(name, title, "XLSX", None))
    result.sheets = [(r["doc_id"], r["title"]) for r in home.db.execute(
        "SELECT doc_id, title FROM documents WHERE xlsx_path IS NOT NULL AND status='active' "
        "AND substr(doc_date, 1, 7)=? ORDER BY type, doc_id", (prefix,))]
    return result


def month_file(home: Home, month: dt.date, name: str) -> tuple[Path | bytes, str]:
    """One of the month's files to download (a path, or the bytes of one made on request) and its
    media type; recorded in the audit log."""
    filing = month_filing(home, month)
    chosen = next((f for f in filing.files if f.name == name), None)
    if chosen is None:
        raise NotFoundError(f"{filing.month} 没有「{name}」", hint="月末归档之后才有归档文件目录、盒脊与备考表")
    content: Path | bytes
    if chosen.path is None:
        content = box_sheet_xlsx(home, filing.month)
    else:
        content = home.root / chosen.path
        if not content.is_file():
            raise NotFoundError(f"「{name}」的文件不在档案库中，请运行四性检测")
    with transaction(home.db):
        audit(home.db, home.operator, "filing.download", f"{filing.month}/{name}")
    return content, MEDIA[Path(name).suffix]


def box_sheet_xlsx(home: Home, prefix: str) -> bytes:
    """The month's boxes as a table: what each 盒脊 and 备考表 says, one row per box."""
    from archive.filing.month import _box_notes, _boxes

    ids = {r[0] for r in home.db.execute(
        "SELECT DISTINCT box_id FROM documents WHERE filed_month=? AND box_id IS NOT NULL", (prefix,))}
    boxes = _boxes(home, ids)
    notes = _box_notes(home, prefix, boxes)
    config = home.config
    row = home.db.execute("SELECT operator, filed_at FROM filing_months WHERE month=?", (prefix,)).fetchone()
    operator = row["operator"] if row is not None else ""
    filed = (row["filed_at"] or "")[:10] if row is not None else ""
    rows = []
    for index, box in enumerate(boxes):
        place = "乡镇本级" if box.village == config.township else box.village
        rows.append([config.fonds, box.year, box.retention, place, box.box_no,
                     f"{box.first_item:04d}—{box.last_item:04d}", box.items,
                     f"本盒共{box.items}件，件号{box.first_item:04d}至{box.last_item:04d}。{notes.get(index, '')}",
                     operator, filed])
    year, month = prefix.split("-")
    return catalogue.table_xlsx(f"{config.township}{int(year)}年{int(month)}月盒脊与备考表",
                                BOX_SHEET_HEADER, rows, BOX_SHEET_WIDTHS)
