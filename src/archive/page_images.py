"""Page images of archived PDFs for viewing in a browser: rendered once with pypdfium2 and
cached under the archive home (cache/pages/), keyed by the file's size and modification time
so that a re-stamped copy is rendered again. Only a few fixed widths exist, so the cache is
bounded by the archive itself."""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.catalog import audit, transaction
from archive.errors import ArchiveError, NotFoundError
from archive.filing.location import open_path
from archive.home import Home
from archive.search.engine import location_label

WIDTHS = {"thumb": 240, "page": 1000, "zoom": 1600}
_RENDER_LOCK = threading.Lock()  # PDFium is not thread-safe

_DOC_SQL = """
SELECT d.doc_id, d.type, d.title, d.household_id, d.village, d.doc_date, d.number, d.pages, d.status,
       coalesce(d.archival_code, p.archival_code) AS archival_code, coalesce(d.item_no, p.item_no) AS item_no,
       d.stamped_path, d.pdf_path, d.xlsx_path, d.void_pdf_path, d.void_reason, d.origin,
       b.box_no, b.year AS box_year, b.village AS box_village, h.head_name
FROM documents d LEFT JOIN households h ON h.id = d.household_id
LEFT JOIN documents p ON p.doc_id = d.attached_to
LEFT JOIN boxes b ON b.id = coalesce(d.box_id, p.box_id)
WHERE d.doc_id = ?
"""


@dataclass
class ViewableDocument:
    doc_id: str
    type: str
    title: str
    household: str | None
    name: str | None
    village: str | None
    date: str
    number: str | None
    pages: int
    status: str
    archival_code: str | None
    location: str
    pdf: Path | None
    origin: str = "generated"  # generated / scan
    void_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "type": self.type, "title": self.title, "household": self.household,
                "name": self.name, "village": self.village, "date": self.date, "number": self.number,
                "pages": self.pages, "status": self.status, "archival_code": self.archival_code,
                "location": self.location, "pdf": str(self.pdf) if self.pdf else None,
                "void_reason": self.void_reason}


def viewable_document(home: Home, doc_id: str) -> ViewableDocument:
    """A document as the viewer shows it: the file search and `show` name (filing/location.py) —
    a voided document's copy marked 作废, else the filed copy with the 归档章, else the PDF."""
    row = home.db.execute(_DOC_SQL, (doc_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"没有文书 {doc_id}")
    path = open_path(home.root, row)
    pdf = Path(path) if path and path.lower().endswith(".pdf") else None
    return ViewableDocument(
        doc_id=row["doc_id"], type=row["type"], title=row["title"], household=row["household_id"],
        name=row["head_name"], village=row["village"], date=row["doc_date"], number=row["number"],
        pages=row["pages"] or 0, status=row["status"], archival_code=row["archival_code"],
        location=location_label(row), pdf=pdf, origin=row["origin"] or "generated",
        void_reason=row["void_reason"] if row["status"] == "voided" else None)


def open_document(home: Home, doc_id: str) -> ViewableDocument:
    """The document, with an audit entry: who opened which document, when."""
    document = viewable_document(home, doc_id)
    with transaction(home.db):
        audit(home.db, home.operator, "document.open", doc_id)
    return document


def document_pdf(home: Home, doc_id: str) -> Path:
    """The PDF to download, with an audit entry."""
    document = viewable_document(home, doc_id)
    if document.pdf is None or not document.pdf.is_file():
        raise NotFoundError(f"文书 {doc_id} 没有 PDF 文件")
    with transaction(home.db):
        audit(home.db, home.operator, "document.download", doc_id)
    return document.pdf


def document_xlsx(home: Home, doc_id: str) -> Path:
    """The XLSX of a table document (花名册, 统计表) to download, with an audit entry."""
    viewable_document(home, doc_id)  # NotFoundError for an unknown document
    row = home.db.execute("SELECT xlsx_path FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    path = home.root / row["xlsx_path"] if row["xlsx_path"] else None
    if path is None or not path.is_file():
        raise NotFoundError(f"文书 {doc_id} 没有 XLSX 文件")
    with transaction(home.db):
        audit(home.db, home.operator, "document.download", doc_id, {"format": "xlsx"})
    return path


def page_count(pdf: Path) -> int:
    import pypdfium2 as pdfium

    with _RENDER_LOCK:
        document = pdfium.PdfDocument(str(pdf))
        try:
            return len(document)
        finally:
            document.close()


def page_image(home: Home, doc_id: str, page: int, size: str = "page") -> Path:
    """A PNG of one page (1-based) at one of WIDTHS, rendered on first request and cached."""
    if size not in WIDTHS:
        raise ArchiveError(f"图像尺寸「{size}」不存在")
    document = viewable_document(home, doc_id)
    if document.pdf is None or not document.pdf.is_file():
        raise NotFoundError(f"文书 {doc_id} 没有可显示的 PDF")
    stat = document.pdf.stat()
    folder = home.root / "cache" / "pages" / doc_id
    target = folder / f"{stat.st_size}-{stat.st_mtime_ns}-p{page}-{size}.png"
    if target.is_file():
        return target
    import pypdfium2 as pdfium

    width = WIDTHS[size]
    with _RENDER_LOCK:
        if target.is_file():
            return target
        try:
            pdf = pdfium.PdfDocument(str(document.pdf))
        except pdfium.PdfiumError as exc:
            raise ArchiveError(f"文书 {doc_id} 的 PDF 无法打开：{exc}") from None
        try:
            if not 1 <= page <= len(pdf):
                raise NotFoundError(f"文书 {doc_id} 没有第 {page} 页（共 {len(pdf)} 页）")
            pdf_page = pdf[page - 1]
            scale = width / pdf_page.get_width()
            image = pdf_page.render(scale=scale).to_pil()
        finally:
            pdf.close()
        buffer = io.BytesIO()
        image.convert("L" if size == "thumb" else "RGB").save(buffer, "PNG", optimize=size == "thumb")
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, target)
    return target
