"""Export household files as one PDF for an inspection request: a 卷内目录 first, then each
household's documents in order (the filed, stamped copy where there is one), with bookmarks per
household and per document."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf

from archive import files
from archive.catalog import audit, transaction
from archive.documents import pdfa
from archive.errors import ArchiveError
from archive.filing import catalogue
from archive.home import Home
from archive.roster.households import get_household
from archive.sealing import register_written
from archive.signing.copies import drop_signature_widgets


def export_households(home: Home, household_ids: list[str], out: Path, force: bool = False) -> dict:
    """Write the export to `out`; an existing file is refused unless `force`."""
    files.check_output(out, force, suffix=".pdf")
    households = [get_household(home.db, hid) for hid in household_ids]
    plan = []
    items = []
    for household in households:
        rows = home.db.execute(
            """SELECT d.*, b.box_no FROM documents d LEFT JOIN boxes b ON b.id=d.box_id
               WHERE d.household_id=? AND d.status='active' AND d.attached_to IS NULL
               AND (d.pdf_path IS NOT NULL OR d.stamped_path IS NOT NULL)
               ORDER BY d.item_no IS NULL, b.year, b.box_no, d.item_no, d.doc_date, d.doc_id""", (household.id,)).fetchall()
        plan.append((household, rows))
        for row in rows:
            items.append(catalogue.Item(len(items) + 1, row["archival_code"] or "（未归档）", row["number"] or "",
                                        home.config.office, f"{household.head_name}户 {row['title']}",
                                        row["doc_date"].replace("-", ""), "", row["pages"] or 1,
                                        f"第{row['box_no']}盒" if row["box_no"] else "", household.id,
                                        household.village, row["box_no"] or 0, row["item_no"] or 0))
    if not items:
        raise ArchiveError("所选家庭没有可导出的文书")
    writer = pypdf.PdfWriter()
    contents = pypdf.PdfReader(io.BytesIO(catalogue.file_catalogue(
        "卷内目录", f"{home.config.township} 导出 {len(households)} 户", items)))
    first = len(writer.pages)
    for page in contents.pages:
        writer.add_page(page)
    writer.add_outline_item(title="卷内目录", page_number=first)
    documents = 0
    signed_originals: list[str] = []
    for household, rows in plan:
        parent = writer.add_outline_item(title=f"{household.head_name}（{household.village}，{household.id}）",
                                         page_number=len(writer.pages))
        for row in rows:
            source = home.root / (row["stamped_path"] or row["pdf_path"])
            if not source.exists():
                raise ArchiveError(f"文件缺失：{source}", hint="请运行 archive verify 检查档案完整性")
            start = len(writer.pages)
            signed = False
            for page in pypdf.PdfReader(str(source)).pages:
                # a merged copy cannot keep a valid signature: leave the field out, say so
                signed = drop_signature_widgets(writer.add_page(page)) or signed
            title = f"{row['doc_date']} {row['title']} {row['number'] or ''}".strip()
            if signed:
                title += "（原件已数字签名，此为不含签名的复制件）"
                signed_originals.append(row["doc_id"])
            writer.add_outline_item(title=title, page_number=start, parent=parent)
            documents += 1
    problems = pdfa.finish(writer, title=f"{home.config.township} 档案导出（{len(households)} 户）")
    try:
        with files.atomic_output(out, overwrite=force) as handle:
            writer.write(handle)
    except files.OutputExists:
        files.refuse_existing(out)
    register_written(home.db, home.root, home.operator, "调阅导出", out)  # only if written inside the home
    with transaction(home.db):
        audit(home.db, home.operator, "export", str(out), {"households": [h.id for h in households], "documents": documents,
                                                     "signed_originals": signed_originals})
    return {"out": str(out), "households": len(households), "documents": documents, "pages": len(writer.pages),
            "signed_originals": len(signed_originals), "pdfa": not problems, "pdfa_problems": problems}
