"""The same document for many households at once, printed from one merged PDF.

Households are chosen by village, 保障类别, status and a decision-date range (the date of their
latest 审核确认表 or 审核确认通知书, else the roster's start date, as the publicity sheet chooses
them). Each household's document is generated exactly as `archive generate` would (its own 文号;
asking again reprints under the same number, so a batch run twice numbers nothing twice). One
household that fails never stops the others: it is reported with its reason. The documents that
were made are merged, in order, into one PDF with a bookmark per household, written without
overwriting anything and registered (inside the home: under batches/). The 存根 (counterfoils) of
notices that have them are kept out of that PDF and collected, in the same order, in a PDF of
their own beside it (`…-存根.pdf`): the notices go to the households, the counterfoils stay."""

from __future__ import annotations

import datetime as dt
import io
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from archive.catalog import audit, transaction
from archive.documents.generate import Generator
from archive.documents.templates import load_template
from archive.documents.types import registry
from archive.errors import ArchiveError
from archive.files import check_output, ensure_dir, write_new
from archive.home import Home
from archive.roster.households import HouseholdRecord, list_households
from archive.sealing import register_written

BATCH_FOLDER = "batches"
MAX_HOUSEHOLDS = 2000
STATUSES = ("active", "applicant", "stopped")


@dataclass
class BatchItem:
    household: str
    name: str
    village: str
    doc_id: str | None = None
    number: str | None = None
    pages: int = 0
    reprinted: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BatchResult:
    type: str
    title: str
    date: str
    items: list[BatchItem] = field(default_factory=list)
    pdf: str | None = None
    pages: int = 0
    stubs_pdf: str | None = None
    stub_pages: int = 0

    @property
    def made(self) -> list[BatchItem]:
        return [item for item in self.items if item.error is None]

    @property
    def failed(self) -> list[BatchItem]:
        return [item for item in self.items if item.error is not None]

    def summary(self) -> dict[str, Any]:
        return {"type": self.type, "title": self.title, "date": self.date, "households": len(self.items),
                "made": len(self.made), "failed": len(self.failed), "pdf": self.pdf, "pages": self.pages,
                "stubs_pdf": self.stubs_pdf, "stub_pages": self.stub_pages}


def select_households(home: Home, *, village: str | None = None, category: str | None = None,
                      status: str | None = None, decided_from: dt.date | None = None,
                      decided_to: dt.date | None = None) -> list[HouseholdRecord]:
    """The households a batch is for, in roster order (village by village)."""
    if village:
        village = home.config.require_village(village)
    if status and status not in STATUSES:
        raise ArchiveError(f"未知的状态「{status}」", hint="可用：active（在保）、applicant（申请中）、stopped（停保）")
    if (decided_from is None) != (decided_to is None):
        raise ArchiveError("审核确认日期范围要同时给出起止日期（--decided-from 和 --decided-to）")
    if decided_from and decided_to and decided_to < decided_from:
        raise ArchiveError(f"日期范围颠倒：{decided_from} 晚于 {decided_to}")
    chosen = [h for h in list_households(home.db, village)
              if (not category or h.category == category) and (not status or h.status == status)]
    if decided_from and decided_to:
        generator = Generator(home)
        villages = [village] if village else sorted({h.village for h in chosen})
        decided = {h.id for v in villages for h in generator.decided_households(v, decided_from, decided_to, category)}
        chosen = [h for h in chosen if h.id in decided]
    return sorted(chosen, key=lambda h: home.config.village_rank(h.village))  # the configured order, stable


@dataclass
class BatchPlan:
    """Who a batch would issue for and who it would skip, with why (nothing written)."""
    type: str
    title: str
    date: str
    eligible: list[HouseholdRecord] = field(default_factory=list)
    skipped: list[tuple[HouseholdRecord, str]] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """A short fingerprint of the eligible list: a confirmation names the list it confirms."""
        import hashlib

        blob = "|".join([self.type, self.date, *(h.id for h in self.eligible)])
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "title": self.title, "date": self.date,
                "eligible": [h.id for h in self.eligible],
                "skipped": [{"household": h.id, "reason": reason} for h, reason in self.skipped]}


# the decision a notice announces must have been made: type event -> (test, why a household is skipped)
def _eligibility(home: Home, event: str | None, household: HouseholdRecord, day: dt.date) -> str | None:
    """Why `household` cannot have a document of this event on `day` (None: it can)."""
    if event == "approval":
        if household.status == "active":
            return None
        decided = home.db.execute("SELECT 1 FROM documents WHERE household_id=? AND type='approval' "
                                  "AND status='active' AND doc_date<=? LIMIT 1",
                                  (household.id, day.isoformat())).fetchone()
        if decided is None:
            return "尚无审批决定：没有审核确认表，花名册状态也不是在保"
    if event in ("suspension", "adjustment") and household.status != "active":
        return "不在保，无需停发或调整"
    return None


def plan_batch(home: Home, doc_type: str, households: list[HouseholdRecord], day: dt.date | None = None,
               params: dict[str, str] | None = None) -> BatchPlan:
    """Check every household before a batch is issued, writing nothing: the document type's
    eligibility (a 审核确认通知书 needs an approval decision: an 审核确认表 or the household 在保;
    a 停发 or 调整 notice a household 在保) and the generator's own check, the one the draft
    preview and the issue use (Generator.check_household_document). A person sees who is
    skipped and why, then confirms the eligible list (generate_batch)."""
    from archive.casework.history import state_for_month

    template = _batch_template(home, doc_type, households)
    day = day or dt.date.today()
    plan = BatchPlan(type=doc_type, title=template.title, date=day.isoformat())
    generator = Generator(home)
    for household in households:
        reason = _eligibility(home, template.event, state_for_month(home.db, household.id, day), day)
        if reason is None:
            try:
                generator.check_household_document(doc_type, household.id, day, dict(params or {}))
            except ArchiveError as exc:
                reason = exc.message
        if reason is None:
            plan.eligible.append(household)
        else:
            plan.skipped.append((household, reason))
    return plan


def _batch_template(home: Home, doc_type: str, households: list) -> Any:
    """The template of a type that can be made for many households, refused with the reason
    (not a household document, no household chosen, too many at once)."""
    kinds = registry(home)
    kind = kinds.get(doc_type)
    if kind is None or not kind.generated or kind.scope != "household":
        choices = "、".join(f"{t.id}（{t.title}）" for t in kinds.generated() if t.scope == "household")
        raise ArchiveError(f"文书类型「{doc_type}」不能批量生成（批量生成针对一户的文书）", hint=f"可用类型：{choices}")
    if not households:
        raise ArchiveError("没有符合条件的家庭，未生成任何文书", hint="请放宽村、类别、状态或日期范围")
    if len(households) > MAX_HOUSEHOLDS:
        raise ArchiveError(f"一次最多批量生成 {MAX_HOUSEHOLDS} 户（本次 {len(households)} 户）", hint="请按村分批生成")
    return load_template(doc_type, home.templates_dir)


def default_pdf_path(home: Home, title: str, day: dt.date, count: int) -> Path:
    """batches/<date>-<title>-<n>户-<time>.pdf, a free name (never an earlier batch's)."""
    stem = f"{day.isoformat()}-{title}-{count}户-{time.strftime('%Y%m%d-%H%M%S')}"
    path, number = home.root / BATCH_FOLDER / f"{stem}.pdf", 1
    while path.exists():
        number += 1
        path = path.with_name(f"{stem}-{number}.pdf")
    return path


def generate_batch(home: Home, doc_type: str, households: list[HouseholdRecord], day: dt.date | None = None,
                   params: dict[str, str] | None = None, out: Path | None = None,
                   progress: Any = None) -> BatchResult:
    """Generate `doc_type` for every household and merge the documents into one PDF."""
    template = _batch_template(home, doc_type, households)
    if out is not None:  # refused before any number is taken
        check_output(out, False, ".pdf")
        if template.has_stub:
            check_output(stubs_path(out), False, ".pdf")
    day = day or dt.date.today()
    result = BatchResult(type=doc_type, title=template.title, date=day.isoformat())
    generator = Generator(home)
    for index, household in enumerate(households, start=1):
        item = BatchItem(household.id, household.head_name, household.village)
        try:
            made = generator.household_document(doc_type, household.id, day, dict(params or {}))
            item.doc_id, item.number, item.pages, item.reprinted = made.doc_id, made.number, made.pages, made.reprinted
            item.warnings = list(made.warnings)
        except ArchiveError as exc:
            item.error = exc.message
        result.items.append(item)
        if progress is not None:
            progress(index, len(households), item)
    if result.made:
        target = out or default_pdf_path(home, template.title, day, len(result.made))
        blob, result.pages, stubs, result.stub_pages = merged_pdf(home, result.made, split_stubs=template.has_stub)
        if out is None:
            ensure_dir(target.parent)
        write_new(target, blob)
        result.pdf = str(target)
        register_written(home.db, home.root, home.operator, "批量打印", target)
        if stubs is not None:
            stub_target = stubs_path(target)
            write_new(stub_target, stubs)
            result.stubs_pdf = str(stub_target)
            register_written(home.db, home.root, home.operator, "批量打印", stub_target)
    with transaction(home.db):
        audit(home.db, home.operator, "document.batch", doc_type, {
            **result.summary(), "documents": [item.doc_id for item in result.made],
            "failed_households": [item.household for item in result.failed]})
    return result


STUB_MARK = "（存根）"  # ends the title of every template's stub section, which starts a page


def stubs_path(target: Path) -> Path:
    """Where a batch's counterfoils go: beside its merged PDF, `<name>-存根.pdf`."""
    return target.with_name(f"{target.stem}-存根.pdf")


def stub_start(reader: Any) -> int:
    """The index of the first 存根 page of a notice (len(pages) when it has none): its stub is
    the run of last pages from the one whose text carries the stub's title."""
    for index in range(len(reader.pages) - 1, 0, -1):
        if STUB_MARK in (reader.pages[index].extract_text() or ""):
            return index
    return len(reader.pages)


def merged_pdf(home: Home, items: list[BatchItem], *, split_stubs: bool = False) -> tuple[bytes, int, bytes | None, int]:
    """The documents' PDFs in order, one bookmark per household (户主姓名 and 文号), and with
    `split_stubs` their counterfoils merged into a second PDF (None when there are none)."""
    import pypdf

    writer, stubs = pypdf.PdfWriter(), pypdf.PdfWriter()
    for item in items:
        row = home.db.execute("SELECT pdf_path FROM documents WHERE doc_id=?", (item.doc_id,)).fetchone()
        reader = pypdf.PdfReader(str(home.root / row["pdf_path"]))
        cut = stub_start(reader) if split_stubs else len(reader.pages)
        title = f"{item.name}户（{item.village}）{item.number or item.doc_id}"
        start = len(writer.pages)
        writer.append(reader, pages=(0, cut))
        writer.add_outline_item(title=title, page_number=start)
        if cut < len(reader.pages):
            start = len(stubs.pages)
            stubs.append(reader, pages=(cut, len(reader.pages)))
            stubs.add_outline_item(title=title, page_number=start)
    writer.add_metadata({"/Title": "批量打印"})
    stubs.add_metadata({"/Title": "批量打印（存根）"})
    return _bytes(writer), len(writer.pages), (_bytes(stubs) if stubs.pages else None), len(stubs.pages)


def _bytes(writer: Any) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
