"""Draft PDFs (样稿) kept for a short while so a browser can show them before anything is issued:
under the archive home's cache/previews/ (not a data folder: nothing in it is a record), one
folder per user, named by a random token, removed after an hour. Page images are rendered from
them as the document viewer renders archived PDFs."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import shutil
import time
from pathlib import Path

from archive.errors import ArchiveError, NotFoundError
from archive.files import ensure_dir, write_atomic
from archive.home import Home

KEEP_SECONDS = 3600
WIDTHS = {"page": 1000, "zoom": 1600}
_TOKEN = re.compile(r"[0-9a-f]{32}")


def _user_folder(home: Home, user: str) -> Path:
    return home.root / "cache" / "previews" / hashlib.sha256(user.encode("utf-8")).hexdigest()[:20]


def _sweep(base: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    if not base.is_dir():
        return
    for folder in base.iterdir():
        for path in folder.glob("*") if folder.is_dir() else []:
            try:
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            except OSError:
                pass


def keep_preview(home: Home, user: str, pdf: bytes) -> str:
    """Keep a draft PDF for `user`; the token that names it."""
    _sweep(home.root / "cache" / "previews")
    token = secrets.token_hex(16)
    folder = ensure_dir(_user_folder(home, user) / token)
    write_atomic(folder / "preview.pdf", pdf)
    return token


def preview_pdf(home: Home, user: str, token: str) -> Path:
    """The draft PDF kept under `token` for this user (another user's token is not found)."""
    if not _TOKEN.fullmatch(token or ""):
        raise NotFoundError("样稿不存在")
    path = _user_folder(home, user) / token / "preview.pdf"
    if not path.is_file():
        raise NotFoundError("样稿已过期或不存在，请重新预览")
    return path


def preview_image(home: Home, user: str, token: str, page: int, size: str = "page") -> Path:
    """A PNG of one page (1-based) of the draft, rendered once."""
    from archive.page_images import _RENDER_LOCK

    if size not in WIDTHS:
        raise ArchiveError(f"图像尺寸「{size}」不存在")
    pdf_path = preview_pdf(home, user, token)
    target = pdf_path.with_name(f"p{page}-{size}.png")
    if target.is_file():
        return target
    import pypdfium2 as pdfium

    with _RENDER_LOCK:
        pdf = pdfium.PdfDocument(str(pdf_path))
        try:
            if not 1 <= page <= len(pdf):
                raise NotFoundError(f"样稿没有第 {page} 页（共 {len(pdf)} 页）")
            pdf_page = pdf[page - 1]
            image = pdf_page.render(scale=WIDTHS[size] / pdf_page.get_width()).to_pil()
        finally:
            pdf.close()
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    write_atomic(target, buffer.getvalue())
    return target
