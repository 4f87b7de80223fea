"""The work of each background job (archive.jobs): month-end filing, reindex, 四性检测, a batch of
documents, the ingest of uploaded scans. Each `start_…` checks what it can at once (a bad month,
no households) and starts the job, which calls the same library function as the CLI with a
progress callback; what the job returns is its result, shown on the job's page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from archive.errors import ArchiveError
from archive.home import Home
from archive.jobs import Job, Progress, start


def _sync_index(home: Home) -> str | None:
    """Bring the full-text index up to date; a failure is a warning (reindex catches up)."""
    from archive.index.store import sync

    try:
        sync(home)
    except ArchiveError as exc:
        return f"全文索引未更新：{exc.message}"
    return None


def month_title(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


def start_file_month(home: Home, month: dt.date) -> Job:
    from archive.filing.month import file_month

    month = month.replace(day=1)

    def work(home: Home, progress: Progress) -> dict[str, Any]:
        result = file_month(home, month, progress)
        progress(message="更新全文索引")
        summary = result.to_json()
        summary["index_warning"] = _sync_index(home)
        return summary

    return start(home, "file-month", f"月末归档：{month_title(month)}", work)


def start_reindex(home: Home) -> Job:
    from archive.index.store import sync

    def work(home: Home, progress: Progress) -> dict[str, Any]:
        result = sync(home, full=True, on_wait=lambda message: progress(message=message),
                      on_progress=lambda done, total: progress(done, total, f"已写入 {done}/{total} 份"))
        return {"written": result.written, "seconds": round(result.seconds, 2)}

    return start(home, "reindex", "重建全文索引", work)


def start_verify(home: Home) -> Job:
    from archive.filing.verify import verify

    def work(home: Home, progress: Progress) -> dict[str, Any]:
        result = verify(home, progress=progress)
        return {**result.to_json(), "checks": [c.to_json() for c in result.checks], "report": result.report_zh()}

    return start(home, "verify", "四性检测", work)


def start_batch(home: Home, doc_type: str, households: list, day: dt.date | None, params: dict[str, str],
                title: str) -> Job:
    """Generate `doc_type` for the households (documents/batch.py) in the background."""
    from archive.documents.batch import MAX_HOUSEHOLDS

    if not households:
        raise ArchiveError("没有符合条件的家庭，未生成任何文书", hint="请放宽村、类别、状态或日期范围")
    if len(households) > MAX_HOUSEHOLDS:
        raise ArchiveError(f"一次最多批量生成 {MAX_HOUSEHOLDS} 户（本次 {len(households)} 户）", hint="请按村分批生成")

    def work(home: Home, progress: Progress) -> dict[str, Any]:
        from archive.documents.batch import generate_batch

        def each(index: int, total: int, item) -> None:
            state = f"未生成：{item.error}" if item.error else "已生成"
            progress(index, total, f"{item.name}户（{item.village}）{state}")

        result = generate_batch(home, doc_type, households, day, params, None, each)
        return {**result.summary(), "pdf_name": Path(result.pdf).name if result.pdf else None,
                "stubs_name": Path(result.stubs_pdf).name if getattr(result, "stubs_pdf", None) else None,
                "warnings": list(getattr(result, "warnings", [])),
                "items": [item.to_json() for item in result.items], "index_warning": _sync_index(home)}

    return start(home, "batch", f"批量生成：{title} {len(households)} 户", work)


def start_ingest(home: Home, folder: Path, names: list[str]) -> Job:
    """Ingest the scans in `folder` (a folder of the inbox): each file's progress, page by page,
    and its outcome are kept in the job's items."""
    from archive.scans.ingest import Ingester, summary_zh

    def work(home: Home, progress: Progress) -> dict[str, Any]:
        for name in names:
            progress.item(name, state="queued")
        finished: set[str] = set()

        def on_file(name: str, fields: dict) -> None:
            if fields.get("state") == "done":
                finished.add(name)
            progress.item(name, **fields)
            progress(len(finished), max(len(names), len(finished)))

        ingester = Ingester(home, "rapidocr", 1, progress=lambda message: progress(message=message), on_file=on_file)
        progress(0, len(names), "开始识别")
        records = ingester.run([folder])
        try:
            folder.rmdir()  # empty once every file was filed or quarantined
        except OSError:
            pass
        return {"summary": summary_zh(records), "records": [r.to_json() | {"pages": r.pages} for r in records],
                "index_warning": _sync_index(home)}

    return start(home, "ingest", f"导入扫描件 {len(names)} 个文件", work)
