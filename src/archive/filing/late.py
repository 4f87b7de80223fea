"""Documents that arrived after their month was closed.

A month is closed by `file-month` in one snapshot: what was in the catalog when its write
transaction began is filed, and nothing can be added while it runs. A document dated in a closed
month that is added afterwards (a notice generated late, a scan assigned from review) is not filed
silently and not lost: `file-month` and `verify` report it with the hint to reopen the month.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

# documents waiting to be filed: active, not yet numbered or attached, not a scan still in work
WAITING = """d.archival_code IS NULL AND d.attached_to IS NULL AND d.status = 'active'
  AND NOT EXISTS (SELECT 1 FROM scans s WHERE s.doc_id = d.doc_id AND s.status IN ('review', 'processing'))"""


@dataclass
class LateMonth:
    month: str             # YYYY-MM
    doc_ids: list[str]

    @property
    def message(self) -> str:
        return late_message(self.month, len(self.doc_ids))

    def to_json(self) -> dict[str, object]:
        return {"month": self.month, "late": len(self.doc_ids), "doc_ids": self.doc_ids, "message": self.message}


def late_message(month: str, count: int) -> str:
    return (f"{month} 月已归档，之后又有 {count} 份文书未归档，"
            f"请用 archive reopen-month {month} --reason 原因 补归档")


def late_documents(db: sqlite3.Connection, month: str | None = None) -> list[LateMonth]:
    """For each closed month (or just `month`), the documents dated in it that wait to be filed."""
    sql = f"""SELECT f.month, d.doc_id FROM filing_months f
              JOIN documents d ON substr(d.doc_date, 1, 7) = f.month
              WHERE f.status = 'filed' AND {WAITING}"""
    args: tuple = ()
    if month is not None:
        sql += " AND f.month = ?"
        args = (month,)
    found: dict[str, list[str]] = {}
    for row in db.execute(sql + " ORDER BY f.month, d.doc_date, d.doc_id", args):
        found.setdefault(row[0], []).append(row[1])
    return [LateMonth(key, ids) for key, ids in found.items()]


def closed_month_note(db: sqlite3.Connection, day: str) -> str | None:
    """The warning for a document dated `day` (ISO) that arrives in a closed month, or None: it is
    kept (nothing is lost) but not filed until the month is reopened; verify reports it meanwhile."""
    month = day[:7]
    row = db.execute("SELECT status FROM filing_months WHERE month=?", (month,)).fetchone()
    if row is None or row["status"] != "filed":
        return None
    return (f"注意：文书日期在 {month} 月，该月已归档，这份文书已登记但未归档（四性检测会报告）；"
            f"请重新打开该月补归档（archive reopen-month {month} --reason 原因，或网页「本月」页面）")
