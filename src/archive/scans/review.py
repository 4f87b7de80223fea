"""The review queue: scans the pipeline could not place with confidence, or whose text a person
must check first (confidence.py: uncertain ID numbers, names, dates, 文号; a page mostly uncertain;
an ID failing its checksum; a name not in the roster). The archivist looks at one (`review_show`:
the reasons, the proposed household and the uncertain characters marked), then accepts it with
the proposal or another household and any line corrected (`review_accept`), assigns a household
(`review_assign`) or rejects it; each is recorded, and no file is deleted. A corrected line is what
the index and the searchable PDF's text layer then hold; the sidecar keeps what OCR read."""

from __future__ import annotations

import json
from typing import Any

from archive import files
from archive.catalog import audit, now_text, record_files, transaction
from archive.documents import storage
from archive.documents.types import registry
from archive.errors import ArchiveError, ConflictError, NotFoundError, UsageError
from archive.filing.late import closed_month_note
from archive.filing.moves import relocate
from archive.home import Home
from archive.roster.households import get_household
from archive.sealing import seal_documents


def review_list(home: Home) -> list[dict[str, Any]]:
    """The queue; `proposed_household` is what identification found for a scan held only for
    its text (None when nothing placed it)."""
    rows = home.db.execute(
        """SELECT s.sha256, s.source_name, s.reason, s.detected_type, s.pages, s.created_at, d.doc_id, d.pdf_path,
                  s.household_id AS proposed_household, substr(d.body_text, 1, 80) AS excerpt
           FROM scans s JOIN documents d ON d.doc_id = s.doc_id WHERE s.status = 'review' ORDER BY s.created_at""")
    return [{**dict(row), "path": str(home.root / row["pdf_path"]) if row["pdf_path"] else None} for row in rows]


def proposed_household(home: Home, key: str) -> str | None:
    """The household identification proposed for a scan in the queue (a QR code's original, an
    ID number), as `review_accept` would take it; None when nothing placed it."""
    scan = _scan_row(home, key)
    doc = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (scan["doc_id"],)).fetchone()
    proposal = _sidecar(home, doc).get("identification") or {}
    return proposal.get("household") if proposal.get("status") in ("filed", "linked") else None


def _sidecar(home: Home, doc) -> dict[str, Any]:
    if not doc["sidecar_path"]:
        return {"pages": []}
    return json.loads((home.root / doc["sidecar_path"]).read_text(encoding="utf-8"))


def review_show(home: Home, key: str) -> dict[str, Any]:
    """One scan in the queue: why it is there, what identification proposed, and each line with
    an uncertain character (【】 around them), numbered as `review_accept` takes them (page:line,
    from 1)."""
    from archive.scans.confidence import marked

    scan = _scan_row(home, key)
    doc = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (scan["doc_id"],)).fetchone()
    sidecar = _sidecar(home, doc)
    proposal = sidecar.get("identification") or {}
    proposed = proposal.get("household") if proposal.get("status") in ("filed", "linked") else None
    head = home.db.execute("SELECT head_name, village FROM households WHERE id=?", (proposed,)).fetchone() \
        if proposed else None
    lines, every = [], []
    for page_no, page in enumerate(sidecar.get("pages", []), start=1):
        every += [{"page": page_no, "line": index, "text": item["text"]}
                  for index, item in enumerate(page.get("lines", []), start=1)]
        spans_by_line: dict[int, list[dict]] = {}
        for span in (page.get("review") or {}).get("spans", []):
            spans_by_line.setdefault(span["line"], []).append(span)
        for index, spans in sorted(spans_by_line.items()):
            text = page["lines"][index]["text"]
            lines.append({"page": page_no, "line": index + 1, "text": text, "marked": marked(text, spans),
                          "confidence": min(span["confidence"] for span in spans),
                          "fields": sorted({span["field"] for span in spans if span["field"]})})
    return {
        "doc_id": doc["doc_id"], "source_name": scan["source_name"], "pages": scan["pages"],
        "reasons": (sidecar.get("review") or {}).get("reasons") or [scan["reason"]],
        "proposed_household": proposed, "proposed_head": head["head_name"] if head else None,
        "proposed_village": head["village"] if head else None,
        "proposed_type": proposal.get("doc_type"), "proposed_original": proposal.get("source_doc") if proposed else None,
        "uncertain_lines": lines, "lines": every, "path": str(home.root / doc["pdf_path"]) if doc["pdf_path"] else None,
        "text": doc["body_text"],
    }


def parse_fix(spec: str) -> tuple[int, int, str]:
    """`页:行=文字` (both from 1, as `review show` numbers them) → (page, line, text)."""
    place, sep, text = spec.partition("=")
    page, colon, line = place.partition(":")
    if not sep or not colon or not page.strip().isdigit() or not line.strip().isdigit():
        raise UsageError(f"改正「{spec}」的写法不对", hint="写成 页:行=改正后的文字，如 --fix 1:3=姓名：张三（页、行号见 archive review show）")
    return int(page), int(line), text


def review_accept(home: Home, key: str, household_id: str | None = None, doc_type: str | None = None,
                  fixes: list[tuple[int, int, str]] | None = None) -> dict[str, Any]:
    """File a scan from the queue: into the proposed household (or `household_id`), as the
    proposed type (or `doc_type`), with lines corrected (`fixes`: page, line from 1, new text).
    The corrected text goes to the catalog (and so the index) and the searchable PDF's text
    layer; the sidecar records what OCR read beside each correction; all of it is audited."""
    scan = _scan_row(home, key)
    doc = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (scan["doc_id"],)).fetchone()
    sidecar = _sidecar(home, doc)
    proposal = sidecar.get("identification") or {}
    proposed = proposal.get("household") if proposal.get("status") in ("filed", "linked") else None
    if household_id is None and proposed is None:
        raise UsageError(f"扫描件 {doc['doc_id']} 没有拟归入的家庭，请用 --household 指定户主身份证号",
                         hint=f"先用 archive review show {doc['doc_id']} 查看内容")
    household = get_household(home.db, household_id or proposed)
    types = registry(home)
    if doc_type is not None:
        doc_type = types.resolve(doc_type).id  # id, title or alias; unknown: the list of types
    doc_type = doc_type or proposal.get("doc_type") or doc["type"]
    # the generated original a QR code pointed to, kept only when it is this household's
    source_doc = proposal.get("source_doc") if household.id == proposed else None
    changes = _apply_fixes(home, sidecar, fixes or [])
    pages = sidecar.get("pages", [])
    text = "\n".join(page.get("text", "") for page in pages)
    if changes and pages and doc["pdf_path"] != doc["original_path"] and doc["pdf_path"]:
        _rewrite_text_layer(home.root / doc["pdf_path"], pages, doc["title"])
    sidecar["review"] = {**(sidecar.get("review") or {}), "status": "accepted", "by": home.operator,
                         "household": household.id, "type": doc_type}
    if doc["sidecar_path"]:
        files.write_atomic(home.root / doc["sidecar_path"],
                             json.dumps(sidecar, ensure_ascii=False, indent=1).encode("utf-8"))
    folder = storage.document_folder(home, int(doc["doc_date"][:4]), household.village, household)
    status = "linked" if source_doc else "filed"
    with transaction(home.db):
        paths = {col: relocate(home, doc[col], folder) for col in ("pdf_path", "original_path", "sidecar_path")}
        home.db.execute(
            """UPDATE documents SET household_id=?, village=?, type=?, title=?, pdf_path=?, original_path=?,
               sidecar_path=?, body_text=?, source_doc=? WHERE doc_id=?""",
            (household.id, household.village, doc_type, doc["title"] if source_doc else types.title(doc_type, doc["title"]),
             paths["pdf_path"], paths["original_path"], paths["sidecar_path"], text, source_doc, doc["doc_id"]))
        home.db.execute("UPDATE scans SET status=?, household_id=?, detected_type=?, reason=?, "
                        "updated_at=? WHERE sha256=?",
                        (status, household.id, doc_type, f"人工确认：{home.operator}", now_text(), scan["sha256"]))
        record_files(home.db, home.root, doc["doc_id"])
        audit(home.db, home.operator, "review.accept", doc["doc_id"],
              {"household": household.id, "type": doc_type, "proposed": proposed, "source_doc": source_doc,
               "reasons": sidecar["review"].get("reasons", []), "corrections": changes})
        seal_documents(home.db, home.operator, [doc["doc_id"]])
    result = {"doc_id": doc["doc_id"], "household": household.id, "type": doc_type, "status": status,
              "source_doc": source_doc, "corrections": changes}
    late = closed_month_note(home.db, doc["doc_date"])
    if late:  # accepted into a closed month: said now, not first by verify
        result["warning"] = late
    return result


def _apply_fixes(home: Home, sidecar: dict, fixes: list[tuple[int, int, str]]) -> list[dict[str, Any]]:
    pages = sidecar.get("pages", [])
    changes = []
    for page_no, line_no, text in fixes:
        if not 1 <= page_no <= len(pages) or not 1 <= line_no <= len(pages[page_no - 1]["lines"]):
            raise UsageError(f"没有第{page_no}页第{line_no}行", hint="页、行号见 archive review show（从 1 数起）")
        if not text.strip():
            raise UsageError(f"第{page_no}页第{line_no}行改正后的文字不能为空")
        page = pages[page_no - 1]
        line = page["lines"][line_no - 1]
        if line["text"] == text:
            continue
        change = {"page": page_no, "line": line_no, "read": line["text"], "corrected": text}
        page.setdefault("corrections", []).append(
            {"line": line_no - 1, "read": line["text"], "corrected": text, "by": home.operator, "kind": "review"})
        line["text"] = text
        page["text"] = "\n".join(item["text"] for item in page["lines"])
        changes.append(change)
    return changes


def _rewrite_text_layer(path, pages: list[dict], title: str) -> None:
    """The searchable PDF again, each page image as it is, with the corrected lines as its text layer."""
    import io

    import pypdf
    from PIL import Image

    from archive.scans.ocr.base import OcrLine, OcrPage
    from archive.scans.searchable import write_searchable_pdf

    reader = pypdf.PdfReader(path)
    images = []
    for pdf_page, page in zip(reader.pages, pages, strict=False):
        picture = Image.open(io.BytesIO(pdf_page.images[0].data))
        dpi = picture.width / (float(pdf_page.mediabox.width) / 72.0)
        lines = [OcrLine(item["text"], item["box"], item["confidence"]) for item in page["lines"]]
        images.append((picture, OcrPage(page["width"], page["height"], lines), dpi))
    files.write_atomic(path, write_searchable_pdf(images, title))


def _scan_row(home: Home, key: str):
    row = home.db.execute(
        "SELECT * FROM scans WHERE doc_id = ? OR sha256 LIKE ? ORDER BY created_at", (key, f"{key}%")).fetchall()
    if not row:
        raise NotFoundError(f"待分拣队列中找不到 {key}", hint="用 archive review list 查看文书编号")
    if len(row) > 1:
        raise ArchiveError(f"「{key}」对应多份扫描件，请给出完整的文书编号")
    if row[0]["status"] != "review":
        raise ConflictError(f"扫描件 {row[0]['source_name']} 不在待分拣队列中（状态：{row[0]['status']}）")
    return row[0]


def review_assign(home: Home, key: str, household_id: str, doc_type: str | None = None) -> dict[str, Any]:
    scan = _scan_row(home, key)
    household = get_household(home.db, household_id)
    types = registry(home)
    if doc_type is not None:
        doc_type = types.resolve(doc_type).id  # id, title or alias; unknown: the list of types
    doc = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (scan["doc_id"],)).fetchone()
    doc_type = doc_type or doc["type"]
    folder = storage.document_folder(home, int(doc["doc_date"][:4]), household.village, household)
    with transaction(home.db):
        paths = {col: relocate(home, doc[col], folder) for col in ("pdf_path", "original_path", "sidecar_path")}
        home.db.execute(
            """UPDATE documents SET household_id=?, village=?, type=?, title=?, pdf_path=?, original_path=?,
               sidecar_path=? WHERE doc_id=?""",
            (household.id, household.village, doc_type, types.title(doc_type, doc["title"]), paths["pdf_path"],
             paths["original_path"], paths["sidecar_path"], doc["doc_id"]))
        home.db.execute("UPDATE scans SET status='filed', household_id=?, detected_type=?, reason=?, "
                        "updated_at=? WHERE sha256=?",
                        (household.id, doc_type, f"人工分拣：{home.operator}", now_text(), scan["sha256"]))
        audit(home.db, home.operator, "review.assign", doc["doc_id"], {"household": household.id, "type": doc_type})
        seal_documents(home.db, home.operator, [doc["doc_id"]])
    result = {"doc_id": doc["doc_id"], "household": household.id, "type": doc_type}
    late = closed_month_note(home.db, doc["doc_date"])
    if late:  # assigned into a closed month: said now, not first by verify
        result["warning"] = late
    return result


REVIEW_EDITABLE = 40  # uncertain lines a form offers to correct (the rest: review accept --fix)


def review_file(home: Home, key: str, household_id: str, doc_type: str | None = None,
                fixes: list[tuple[int, int, str]] | None = None) -> dict[str, Any]:
    """File a scan from the queue as a person decided on the review page: lines corrected, or
    the proposed household confirmed, go through `review_accept` (the corrected text is what
    the catalog, the index and the text layer hold; the audit entry keeps what OCR read);
    another household with no line changed is `review_assign`. `fixes` may repeat lines as
    they were read: only the changed ones count."""
    shown = review_show(home, key)
    read = {(item["page"], item["line"]): item["text"] for item in shown["lines"]}
    changed = [(page, line, text) for page, line, text in fixes or [] if read.get((page, line)) != text]
    if changed or household_id == shown["proposed_household"]:
        return review_accept(home, key, household_id, doc_type, changed)
    return review_assign(home, key, household_id, doc_type)


def review_reject(home: Home, key: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise ArchiveError("退回扫描件必须说明原因（--reason）")
    scan = _scan_row(home, key)
    with transaction(home.db):
        home.db.execute("UPDATE scans SET status='rejected', reason=?, updated_at=? WHERE sha256=?",
                        (reason, now_text(), scan["sha256"]))
        home.db.execute("UPDATE documents SET status='rejected', void_reason=? WHERE doc_id=?",
                        (reason, scan["doc_id"]))
        audit(home.db, home.operator, "review.reject", scan["doc_id"], {"reason": reason})
        seal_documents(home.db, home.operator, [scan["doc_id"]])
    return {"doc_id": scan["doc_id"], "reason": reason}
