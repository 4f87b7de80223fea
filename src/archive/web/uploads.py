"""Scans uploaded from a browser or a script: written into a folder of their own in the inbox and
run through the same ingest as the inbox (quarantine, duplicates, review; nothing lost)."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from starlette.datastructures import UploadFile

from archive.errors import ArchiveError
from archive.home import Home
from archive.scans.ingest import IngestRecord

UPLOAD_FOLDER = "网页上传"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def safe_name(name: str, index: int) -> str:
    base = _UNSAFE.sub("_", Path(name or "").name).strip(" .") or "上传文件"
    return f"{index:02d}-{base[-120:]}"


def update_index(home: Home) -> str | None:
    """Bring the full-text index up to date; a failure is a warning (reindex catches up)."""
    from archive.index.store import sync

    try:
        sync(home)
    except ArchiveError as exc:
        return f"全文索引未更新：{exc.message}"
    return None


_BATCH = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


def new_batch(home: Home) -> Path:
    """A folder of its own in the inbox for one upload (one or several files)."""
    folder = home.inbox_dir / UPLOAD_FOLDER / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True)
    return folder


def batch_folder(home: Home, name: str) -> Path:
    """The folder of an upload begun earlier (its name as new_batch made it), or an error."""
    folder = home.inbox_dir / UPLOAD_FOLDER / name
    if not _BATCH.fullmatch(name or "") or not folder.is_dir():
        raise ArchiveError("这批上传的文件已不在收件箱中（可能已被导入），请重新上传")
    return folder


def save_upload(folder: Path, upload: UploadFile) -> str:
    """Write one uploaded file into the folder under a free numbered name; returns that name."""
    index = len(list(folder.iterdir())) + 1
    while (folder / safe_name(upload.filename or "", index)).exists():
        index += 1
    target = folder / safe_name(upload.filename or "", index)
    with open(target, "xb") as out:
        while block := upload.file.read(1 << 20):
            out.write(block)
    return target.name


def ingest_uploads(home: Home, uploads: list[UploadFile]) -> tuple[list[IngestRecord], str | None]:
    """Ingest the uploaded files; their records and a warning if the index could not be updated."""
    from archive.scans.ingest import Ingester

    if not uploads:
        raise ArchiveError("没有收到文件：请选择或拖入扫描件")
    folder = new_batch(home)
    for upload in uploads:
        save_upload(folder, upload)
    ingester = Ingester(home, "rapidocr", 1)
    if home.config.ocr_model_dir:  # as `archive ingest` does: the home's own OCR model folder
        ingester.model_dir = home.config.ocr_model_dir
    records = ingester.run([folder])
    try:
        folder.rmdir()  # empty once every file was filed or quarantined
    except OSError:
        pass
    return records, update_index(home)
