"""Read-only overviews for the web application: a month at a glance (documents made, scans
waiting, filing state) and the shelves as they stand in the cabinet (year → village → box → 件,
with 档号)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from archive.errors import NotFoundError
from archive.home import Home

FILING_STATES = {"filed": "已归档", "reopened": "已重新打开（补归档后再关闭）"}
RETENTION_TITLES = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}


@dataclass
class MonthOverview:
    month: str                                    # YYYY-MM
    filing: str                                   # 未归档 / 已归档 / …
    filed_at: str | None
    filed_items: int
    made: list[tuple[str, int]] = field(default_factory=list)    # (title, count) generated in the month
    scanned: int = 0                              # scans received in the month
    voided: int = 0
    waiting_review: int = 0                       # scans waiting in the review queue (any month)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def month_overview(home: Home, month: dt.date) -> MonthOverview:
    prefix = month.strftime("%Y-%m")
    db = home.db
    state = db.execute("SELECT status, filed_at, items FROM filing_months WHERE month=?", (prefix,)).fetchone()
    made = [(row["title"], row["n"]) for row in db.execute(
        "SELECT title, count(*) AS n FROM documents WHERE origin='generated' AND substr(doc_date,1,7)=? "
        "GROUP BY title ORDER BY n DESC, title", (prefix,))]
    scanned = db.execute("SELECT count(*) FROM documents WHERE origin='scan' AND substr(created_at,1,7)=?",
                         (prefix,)).fetchone()[0]
    voided = db.execute("SELECT count(*) FROM documents WHERE status='voided' AND substr(doc_date,1,7)=?",
                        (prefix,)).fetchone()[0]
    waiting = db.execute("SELECT count(*) FROM scans WHERE status='review'").fetchone()[0]
    return MonthOverview(month=prefix, filing=FILING_STATES.get(state["status"], state["status"]) if state else "未归档",
                         filed_at=state["filed_at"] if state else None, filed_items=state["items"] if state else 0,
                         made=made, scanned=scanned, voided=voided, waiting_review=waiting)


@dataclass
class Box:
    id: int
    year: int
    village: str
    retention: str
    box_no: int
    items: int
    first_code: str | None
    last_code: str | None

    @property
    def retention_title(self) -> str:
        return RETENTION_TITLES.get(self.retention, self.retention)

    @property
    def label(self) -> str:
        return f"{self.year}年 {self.village} 第{self.box_no}盒"


def shelf_years(home: Home) -> list[int]:
    return [row[0] for row in home.db.execute("SELECT DISTINCT year FROM boxes ORDER BY year DESC")]


def boxes(home: Home, year: int, village: str | None = None) -> list[Box]:
    """The boxes of a year (and village), in shelf order, with their count of 件 and 档号 range."""
    sql = """SELECT b.id, b.year, b.village, b.retention, b.box_no, count(d.doc_id) AS items,
                    min(d.archival_code) AS first_code, max(d.archival_code) AS last_code
             FROM boxes b LEFT JOIN documents d ON d.box_id = b.id AND d.item_no IS NOT NULL
             WHERE b.year = ? AND (? IS NULL OR b.village = ?)
             GROUP BY b.id ORDER BY {order}, b.retention, b.box_no"""
    order, args = home.config.village_order_sql("b.village")  # the configured order of villages
    return [Box(**dict(row)) for row in home.db.execute(sql.format(order=order), (year, village, village, *args))]


@dataclass
class BoxItem:
    item_no: int
    archival_code: str | None
    doc_id: str
    title: str
    date: str
    household: str | None
    name: str | None
    number: str | None
    pages: int
    status: str


def box_contents(home: Home, box_id: int) -> tuple[Box, list[BoxItem]]:
    row = home.db.execute("SELECT year, village FROM boxes WHERE id=?", (box_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"没有第 {box_id} 号档案盒")
    box = next(b for b in boxes(home, row["year"], row["village"]) if b.id == box_id)
    items = [BoxItem(**dict(r)) for r in home.db.execute(
        """SELECT d.item_no, d.archival_code, d.doc_id, d.title, d.doc_date AS date, d.household_id AS household,
                  h.head_name AS name, d.number, d.pages, d.status
           FROM documents d LEFT JOIN households h ON h.id = d.household_id
           WHERE d.box_id = ? AND d.item_no IS NOT NULL ORDER BY d.item_no""", (box_id,))]
    return box, items
