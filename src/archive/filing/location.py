"""Where a document is kept, on paper and on disk: one rule for search, `show` and every other
listing, so that they never disagree.

A generated notice whose signed copy came back is filed with it: the signed copy is the 件 (with
its box and 件号), the generated original goes with it as an attachment (`attached_to`) and is
kept where that 件 is.
"""

from __future__ import annotations

from pathlib import Path

# columns and joins for a documents row `d`: use as  SELECT d.*, {COLUMNS} FROM documents d {JOINS}
COLUMNS = """coalesce(d.archival_code, p.archival_code) AS filed_code, coalesce(d.item_no, p.item_no) AS filed_item,
       b.box_no, b.year AS box_year, b.village AS box_village, p.doc_id AS parent_id,
       (SELECT s.doc_id FROM documents s WHERE s.source_doc = d.doc_id ORDER BY s.doc_id LIMIT 1) AS signed_copy"""
JOINS = """LEFT JOIN documents p ON p.doc_id = d.attached_to
LEFT JOIN boxes b ON b.id = coalesce(d.box_id, p.box_id)"""


def location_label(row) -> str:
    """2025年 龙井村 第3盒 第0012件, or 未归档. `row` has box_no, box_year, box_village and
    filed_item (or item_no)."""
    keys = row.keys()
    item = row["filed_item"] if "filed_item" in keys else row["item_no"]
    if row["box_no"]:
        label = f"{row['box_year']}年 {row['box_village']} 第{row['box_no']}盒 第{item:04d}件"
        if "parent_id" in keys and row["parent_id"]:
            label += "（随签收件归档）"
        return label
    return "未归档"


def copy_kind(row) -> str:
    """签收件 (a signed copy scanned back), 原文书 (what the system generated), 扫描件 (other paper)."""
    keys = row.keys()
    if row["origin"] == "scan":
        return "签收件" if row["source_doc"] else "扫描件"
    if "type" in keys and row["type"] in ("roster", "statistics"):
        return "报表"
    return "原文书"


def open_path(root: Path, row) -> str | None:
    """The file to open or print: a voided document's copy marked 作废, else the filed copy with
    its 归档章, else the PDF (or the workbook)."""
    keys = row.keys()
    candidates = []
    if row["status"] == "voided" and "void_pdf_path" in keys:
        candidates.append(row["void_pdf_path"])
    candidates += [row["stamped_path"], row["pdf_path"], row["xlsx_path"]]
    for relative in candidates:
        if relative:
            return str(root / relative)
    return None
