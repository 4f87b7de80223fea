"""Generate documents: take a 文号 and a document ID, render the template to PDF and DOCX,
store the files in the household's folder and record them in the catalog, all or nothing.

Numbering happens inside one write transaction (BEGIN IMMEDIATE), so two processes that
generate at the same time get consecutive numbers with no gaps and no duplicates. Asking again
for the same document (same type, household, date, fields and household data) reprints it under
the same number; a voided document keeps its number, which is never reused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from dataclasses import replace as dataclasses_replace
from pathlib import Path
from typing import Any

from archive import files
from archive.casework.history import (
    check_document_effect,
    households_as_of,
    record_document_effect,
    state_for_month,
)
from archive.casework.rules import category_wording
from archive.catalog import (
    audit,
    file_digest,
    new_doc_id,
    next_value,
    now_text,
    record_files,
    transaction,
)
from archive.dates import cn_date, cn_month, month_end, parse_date
from archive.documents import storage, templates, types
from archive.documents.context import (
    CATEGORY_TITLES,
    derived_dates,
    field_values,
    household_context,
    office_context,
    public_entries,
)
from archive.documents.docmodel import Document
from archive.documents.docxwriter import write_docx
from archive.documents.pdfwriter import SealMarks, write_pdf
from archive.errors import (
    ArchiveError,
    ConflictError,
    NotFoundError,
    TemplateError,
    UsageError,
    error_text,
)
from archive.filing.month import require_open_for_change
from archive.home import Home
from archive.rendering.fonts import resolve as resolve_fonts
from archive.roster.households import HouseholdRecord, list_households
from archive.sealing import seal_documents

_FULL_ID = re.compile(r"(?<![0-9])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9])")


@dataclass
class Generated:
    doc_id: str
    type: str
    title: str
    number: str | None
    household: str | None
    village: str | None
    date: str
    pdf: str | None
    docx: str | None
    xlsx: str | None = None
    pages: int = 0
    reprinted: bool = False
    warnings: list[str] = field(default_factory=list)  # e.g. a second decision of the same kind that day

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


DRAFT_NUMBER = "〔样稿：签发时编号〕"


def format_number(township_short: str, code: str, year: int, seq: int) -> str:
    """青岩民不批〔2025〕7号: 六角括号, no 第, no leading zeros (GB/T 9704 7.2.4)."""
    return f"{township_short}民{code}〔{year}〕{seq}号"


def _request_key(template_id: str, scope_key: str, day: dt.date, params: dict[str, Any], data: Any) -> str:
    blob = json.dumps([template_id, scope_key, day.isoformat(), sorted(params.items()), data],
                      ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Checked:
    """A household's document checked and ready to issue (Generator.check_household_document)."""
    template: templates.Template
    household: HouseholdRecord
    day: dt.date
    context: dict[str, Any]
    key_params: dict[str, str]
    data: Any
    signing: Any = None
    replaced: Any = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Issued:
    """What issuing takes and makes, as it is made: the IDs first, then the files."""
    doc_id: str
    number: str | None = None
    seq: int | None = None
    pages: int = 0
    pdf_path: Path | None = None
    docx_path: Path | None = None


class Generator:
    """Generates documents into one archive home."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.config = home.config
        self.conn = home.db
        self.fonts = resolve_fonts(self.config.fonts)

    # --- public entry points -------------------------------------------------------------

    def generate(self, doc_type: str, *, household: str | None = None, village: str | None = None,
                 start: dt.date | None = None, end: dt.date | None = None, month: dt.date | None = None,
                 day: dt.date | None = None, params: dict[str, str] | None = None, category: str | None = None,
                 approver: str | None = None, replaces: str | None = None) -> list[Generated]:
        """Generate a document of any type (id, Chinese title or alias), dispatched on the type's
        scope: household (`household`), village (`village`, and `start`/`end` for a period type),
        month (`month`: the township's records for one month)."""
        kind = types.registry(self.home).resolve(doc_type, generated=True)
        given = {"household": household, "village": village, "month": month}
        for option in kind.options:
            if option in given and not given[option]:
                flag = {"household": "--household 户主身份证号", "village": "--village 村(社区)",
                        "month": "--month YYYY-MM"}[option]
                raise UsageError(f"生成「{kind.title}」需要 {flag}")
        if kind.id == "roster":
            return self.month_sheets(month, day)
        if kind.scope == "household":
            return [self.household_document(kind.id, household, day, params, approver=approver, replaces=replaces)]
        if approver or replaces:
            raise UsageError(f"「{kind.title}」不是针对一户的文书，不能签章或更正（--sign/--replaces）")
        if kind.scope == "village":
            return [self.village_document(kind.id, village, start, end, day, category, params)]
        return [self.month_document(kind.id, month, day, category, params)]

    def check_household_document(self, doc_type: str, household_id: str, day: dt.date | None = None,
                                 params: dict[str, str] | None = None, *, approver: str | None = None,
                                 replaces: str | None = None) -> Checked:
        """Everything issuing a household's document checks before it takes a number, writing
        nothing: the type and its scope, the fields, the household, signing and the document
        replaced, the template's own precondition, the dates against the household's history, a
        signed document under the same request. The draft preview and the issue both go
        through here, so a draft that is shown is one that can be issued (raises ArchiveError)."""
        kind = types.registry(self.home).resolve(doc_type, generated=True)
        if kind.scope != "household":
            raise UsageError(f"「{kind.title}」不是针对一户的文书（范围：{types.SCOPE_NAMES.get(kind.scope, kind.scope)}）",
                             hint=f"请按 {'、'.join('--' + o for o in kind.options)} 生成")
        template = templates.load_template(kind.id, self.home.templates_dir)
        day = day or dt.date.today()
        params = dict(params or {})
        templates.check_fields(template, params)
        household = state_for_month(self.conn, household_id, day)  # the roster baseline plus its history
        signing = self._signing(template, approver)  # every signing problem is found before writing
        replaced = self._replaced(template, household.id, replaces)
        context = self._household_context(template, household, day, params)
        context["replaces_number"] = (replaced["number"] or replaced["doc_id"]) if replaced else ""
        if signing is not None:
            context["signature_note"] = (f"已电子签章：{signing.role}{signing.name}，{dt.datetime.now():%Y年%m月%d日 %H:%M}"
                                         + ("，含数字签名" if signing.certificate else ""))
        warnings = check_document_effect(self.conn, template.event, day, context, household)
        key_params = {**params, "__approver": approver or "", "__replaces": replaces or ""}
        data = household.digest_fields()
        signed = self.conn.execute(
            "SELECT doc_id, signed_by FROM documents WHERE request_key=? AND status='active' AND signed_by IS NOT NULL",
            (_request_key(template.id, household.id, day, key_params, data),)).fetchone()
        if signed:
            raise ConflictError(
                f"文书 {signed['doc_id']} 已由 {signed['signed_by']} 签章，不会以同一文号重新生成",
                hint=f"如需更正，请加 --replaces {signed['doc_id']} 生成一份说明更正关系的新文书")
        return Checked(template, household, day, context, key_params, data, signing, replaced, warnings)

    def household_document(self, doc_type: str, household_id: str, day: dt.date | None = None,
                           params: dict[str, str] | None = None, *, approver: str | None = None,
                           replaces: str | None = None) -> Generated:
        checked = self.check_household_document(doc_type, household_id, day, params,
                                                approver=approver, replaces=replaces)
        return self._issue(checked.template, checked.context, checked.key_params, checked.day,
                           household=checked.household, scope_key=checked.household.id, data=checked.data,
                           signing=checked.signing, replaced=checked.replaced)

    def _household_context(self, template: templates.Template, household: HouseholdRecord, day: dt.date,
                           params: dict[str, str]) -> dict[str, Any]:
        context = office_context(self.config, template, day)
        context.update(household_context(household, day))
        context.update(category_wording(self.config, template.id, household.category))
        context.update(derived_dates(day))
        context.update(field_values(template, params, context))
        _check_only_if(template, context)
        return context

    def household_preview(self, doc_type: str, household_id: str, day: dt.date | None = None,
                          params: dict[str, str] | None = None) -> tuple[bytes, int]:
        """The document as it would be issued, as PDF bytes marked 样稿 on every page, and its page
        count. No 文号 or document ID is taken, nothing is written or recorded: a draft to check
        before issuing."""
        from archive.documents.voidmark import DRAFT, mark_pdf_bytes

        checked = self.check_household_document(doc_type, household_id, day, params)
        template = checked.template
        context = dict(checked.context, replaces_number="", doc_id="",
                       number=DRAFT_NUMBER if template.number_code else "")
        _, pdf, pages = self._render(template, context, doc_id="", number=None)
        return mark_pdf_bytes(pdf, "样稿：未编号、未签发，不得作为正式文书使用", DRAFT), pages

    def _signing(self, template, approver: str | None):
        if approver is None:
            return None
        from archive.signing.keys import load_approver

        if not any(block.get("sign_off", {}).get("seal") for block in template.data.get("body", [])):
            raise ArchiveError(f"「{template.title}」没有署名盖章位置，不能电子签章")
        return load_approver(self.home, approver)

    def _replaced(self, template, household_id: str, replaces: str | None):
        if not replaces:
            return None
        row = self._document_row(replaces)
        if row["type"] != template.id or row["household_id"] != household_id:
            raise ArchiveError(f"文书 {replaces} 不是该家庭的「{template.title}」，不能被本文书更正")
        if row["status"] != "active":
            raise ConflictError(f"文书 {replaces} 已作废，无需再更正")
        return row

    def publicity(self, village: str, start: dt.date, end: dt.date, day: dt.date | None = None,
                  category: str | None = None, params: dict[str, str] | None = None) -> Generated:
        """The 审核确认公示单 of a village for the households decided in [start, end]."""
        return self.village_document("publicity", village, start, end, day, category, params)

    def village_document(self, doc_type: str, village: str, start: dt.date | None = None, end: dt.date | None = None,
                         day: dt.date | None = None, category: str | None = None,
                         params: dict[str, str] | None = None) -> Generated:
        """A document for one village. The template's `households` says which households its list
        holds: `current` (assisted on the date), `decided` (approved in the period) or `stopped`
        (stopped in the period); a period type takes start and end (default: the month of the date).
        Posted templates (`public: true`) see only name, family size and amount."""
        kind = types.registry(self.home).resolve(doc_type, generated=True)
        template = templates.load_template(kind.id, self.home.templates_dir)
        if template.scope != "village":
            raise UsageError(f"「{template.title}」不是村级文书")
        if template.event == "publicity" and not template.public:
            raise TemplateError(f"模板 {template.path} 是张贴公示的文书，必须设置 public: true")
        village = self.config.require_village(village)
        if template.period and not (start and end):
            raise UsageError(f"生成「{template.title}」需要 --from 和 --to（起止日期）")
        day = day or (end if end else dt.date.today())
        start = start or day.replace(day=1)
        end = end or month_end(day.replace(day=1))
        if end < start:
            raise ArchiveError(f"起止日期颠倒：{start} 晚于 {end}")
        params = dict(params or {})
        templates.check_fields(template, params)
        chosen = self._village_households(template.households, village, start, end, day, category)
        if not chosen:
            raise ArchiveError(f"{village} 在 {start} 至 {end} 期间没有{_SELECTION_NAMES[template.households]}的家庭，"
                               f"无需生成「{template.title}」")
        context = office_context(self.config, template, day)
        context.update(derived_dates(day))
        context.update({
            "village": village,
            "period_from_cn": cn_date(start),
            "period_to_cn": cn_date(end),
            "publicity_from_cn": cn_date(day),
            "publicity_to_cn": cn_date(day + dt.timedelta(days=self.config.publicity_days - 1)),
            "category_title": CATEGORY_TITLES.get(category or "", "社会救助") if category else
            (CATEGORY_TITLES[chosen[0].category] if len({h.category for h in chosen}) == 1 else "社会救助"),
            "households": _entries(chosen, template, day),
            "household_count": len(chosen),
            "people_count": sum(h.covered for h in chosen),
            "amount_total": round(sum(h.amount for h in chosen), 2),
        })
        context.update(field_values(template, params, context))
        _check_only_if(template, context)
        data = [(h.id, h.covered, h.amount) for h in chosen]
        return self._issue(template, context, params, day, village=village,
                           scope_key=f"{village}|{start}|{end}|{category or ''}", data=data)

    def _village_households(self, selection: str, village: str, start: dt.date, end: dt.date, day: dt.date,
                            category: str | None) -> list[HouseholdRecord]:
        if selection == "decided":
            chosen = self.decided_households(village, start, end, category)
            known = {h.id for h in chosen}
            chosen += [h for h in self.proposed_households(village, start, end) if h.id not in known]
        elif selection == "stopped":
            stopped = {row["household_id"] for row in self.conn.execute(
                "SELECT e.household_id FROM case_events e LEFT JOIN documents d ON d.doc_id=e.doc_id "
                "WHERE e.kind='suspension' AND (e.doc_id IS NULL OR d.status='active') AND e.event_date BETWEEN ? AND ?",
                (start.isoformat(), end.isoformat()))}
            chosen = [h for h in list_households(self.conn, village) if h.id in stopped]
        else:
            month = day.replace(day=1)
            from archive.documents import sheets

            chosen = sheets.households_in_month(households_as_of(self.conn, list_households(self.conn, village), month),
                                                month)
        return [h for h in chosen if not category or h.category == category]

    def month_document(self, doc_type: str, month: dt.date, day: dt.date | None = None, category: str | None = None,
                       params: dict[str, str] | None = None) -> Generated:
        """A township record for one month (零报告, 动态管理记录, 资金发放花名册…), dated at the
        end of the month unless --date says otherwise. The template sees the month's assisted
        households, its new, stopped, adjusted and refused cases, its history events and one row
        per village (in the configured order, empty villages as 0)."""
        kind = types.registry(self.home).resolve(doc_type, generated=True)
        template = templates.load_template(kind.id, self.home.templates_dir)
        month = month.replace(day=1)
        day = day or month_end(month)
        params = dict(params or {})
        templates.check_fields(template, params)
        context = office_context(self.config, template, day)
        context.update(derived_dates(day))
        context.update(month_context(self.home, template, month, category))
        context.update(field_values(template, params, context))
        _check_only_if(template, context)
        data = [(h["household_id"], h["covered"], h["amount"]) for h in context["households"]] + \
            [(e["doc_id"], e["kind"]) for e in context["events"]]
        return self._issue(template, context, params, day, scope_key=f"month|{month:%Y-%m}|{category or ''}",
                           data=data)

    def month_sheets(self, month: dt.date, day: dt.date | None = None) -> list[Generated]:
        """花名册 and 人数资金统计表 for a month, as XLSX, recorded like any other document; dated
        at the end of the month unless `day` says otherwise (a record of the month it covers)."""
        from archive.documents import sheets

        month = month.replace(day=1)
        day = day or month_end(month)
        households = sheets.households_in_month(households_as_of(self.conn, list_households(self.conn), month), month)
        if not households:
            raise ArchiveError(f"{cn_month(month)} 没有在保的家庭，请先导入花名册")
        township = self.config.township
        out = []
        for doc_type, title, build in (
            ("roster", "社会救助对象花名册", sheets.roster_xlsx),
            ("statistics", "社会救助人数资金统计表", sheets.statistics_xlsx),
        ):
            blob = build(township, households, month, villages=self.config.villages)
            data = [h.digest_fields() for h in households]
            key = _request_key(doc_type, month.isoformat(), month, {}, data)
            existing = self.conn.execute(
                "SELECT * FROM documents WHERE request_key=? AND status='active'", (key,)).fetchone()
            if existing:
                files.write_atomic(self.home.root / existing["xlsx_path"], blob)
                with transaction(self.conn):
                    record_files(self.conn, self.home.root, existing["doc_id"])
                    seal_documents(self.conn, self.home.operator, [existing["doc_id"]])
                out.append(self._generated(existing, reprinted=True))
                continue
            folder = storage.document_folder(self.home, month.year, None, None)
            with transaction(self.conn):
                doc_id = new_doc_id(self.conn, self.config.fonds)
                path = folder / f"{storage.file_stem(day, f'{cn_month(month)}{title}', doc_id)}.xlsx"
                files.write_atomic(path, blob)
                try:
                    self.conn.execute(
                        """INSERT INTO documents(doc_id, type, title, doc_date, request_key, params, context,
                           body_text, pages, xlsx_path) VALUES (?,?,?,?,?,?,?,?,?,?)""",
                        (doc_id, doc_type, f"{cn_month(month)}{title}", day.isoformat(), key, "{}",
                         json.dumps({"month": month.isoformat()}), "", 1, _relative(self.home, path)),
                    )
                    record_files(self.conn, self.home.root, doc_id)
                    audit(self.conn, self.home.operator, "document.generate", doc_id,
                          {"type": doc_type, "month": month.isoformat(), "households": len(households)})
                    seal_documents(self.conn, self.home.operator, [doc_id])
                except BaseException:
                    path.unlink(missing_ok=True)
                    raise
            out.append(self._generated(self._document_row(doc_id)))
        return out

    def reprint(self, doc_id: str) -> Generated:
        row = self._document_row(doc_id)
        if row["status"] != "active":
            raise ConflictError(f"文书 {doc_id} 已作废（{row['void_reason'] or '未注明原因'}），不能重印")
        if row["xlsx_path"]:
            raise ArchiveError(f"文书 {doc_id} 是表格（XLSX），请重新运行 archive generate roster 生成")
        if row["signed_by"]:
            raise ConflictError(f"文书 {doc_id} 已由 {row['signed_by']} 签章，签章的文书不重新生成",
                               hint=f"需要更正时请用 --replaces {doc_id} 生成新文书；原件可在档案中调阅")
        template = templates.load_template(row["type"], self.home.templates_dir)
        context = json.loads(row["context"])
        document = templates.render(template, context)
        document.doc_id, document.number = row["doc_id"], row["number"]
        pdf, layout = write_pdf(document, self.fonts, author=self.config.office)
        files.write_atomic(self.home.root / row["pdf_path"], pdf)
        files.write_atomic(self.home.root / row["docx_path"], write_docx(document, author=self.config.office))
        with transaction(self.conn):
            record_files(self.conn, self.home.root, doc_id)
            audit(self.conn, self.home.operator, "document.reprint", doc_id, {"number": row["number"]})
            seal_documents(self.conn, self.home.operator, [doc_id])
        return self._generated(row, reprinted=True)

    def void(self, doc_id: str, reason: str) -> Generated:
        if not reason.strip():
            raise ArchiveError("作废文书必须说明原因（--reason）")
        with transaction(self.conn):
            row = self._document_row(doc_id)
            if row["status"] == "voided":
                raise ConflictError(f"文书 {doc_id} 已于此前作废")
            require_open_for_change(self.home, row)
            marked = self._void_copies(row, reason)
            try:
                self.conn.execute("UPDATE documents SET status='voided', void_reason=?, void_pdf_path=?, void_docx_path=? "
                                  "WHERE doc_id=?",
                                  (reason, marked.get("void_pdf_path"), marked.get("void_docx_path"), doc_id))
                # only the marked copies are recorded: the originals keep the digests they had
                for kind, relative in marked.items():
                    path = self.home.root / relative
                    self.conn.execute(
                        "INSERT INTO files(doc_id, kind, sha256, size) VALUES (?,?,?,?) ON CONFLICT(doc_id, kind) "
                        "DO UPDATE SET sha256=excluded.sha256, size=excluded.size", (doc_id, kind, file_digest(path), path.stat().st_size))
                originals = {kind: sha for kind, sha in self.conn.execute(
                    "SELECT kind, sha256 FROM files WHERE doc_id=? AND kind IN ('pdf_path','docx_path')", (doc_id,))}
                audit(self.conn, self.home.operator, "document.void", doc_id,
                      {"number": row["number"], "reason": reason, "marked_copies": marked, "originals_sha256": originals})
                seal_documents(self.conn, self.home.operator, [doc_id])
            except BaseException:
                for relative in marked.values():
                    (self.home.root / relative).unlink(missing_ok=True)
                raise
        return self._generated(row)

    def _void_copies(self, row: sqlite3.Row, reason: str) -> dict[str, str]:
        """Copies of the PDF and DOCX with a visible 作废 mark; the originals are left untouched."""
        from archive.documents import voidmark

        note = f"本文书已作废（{row['number'] or row['doc_id']}）：{reason}"
        marked: dict[str, str] = {}
        for column, kind, mark in (("pdf_path", "void_pdf_path", voidmark.mark_pdf),
                                   ("docx_path", "void_docx_path", voidmark.mark_docx)):
            if not row[column] or not (self.home.root / row[column]).is_file():
                continue
            source = self.home.root / row[column]
            target = voidmark.marked_name(source)
            try:
                mark(source, target, note)
            except Exception as exc:  # a damaged file: nothing is voided, nothing left behind
                for relative in marked.values():
                    (self.home.root / relative).unlink(missing_ok=True)
                raise ArchiveError(f"无法在 {row[column]} 的副本上加作废标记（{error_text(exc)}）",
                                   hint="文书未作废；请用 archive verify 检查该文件") from exc
            marked[kind] = str(target.relative_to(self.home.root))
        return marked

    def decided_households(self, village: str, start: dt.date, end: dt.date,
                           category: str | None = None) -> list[HouseholdRecord]:
        """Households of a village decided in [start, end]: the date of their latest approval
        form (审核确认表) or approval notice, else the roster's start date."""
        decided_on: dict[str, str] = {
            row["household_id"]: row["d"]
            for row in self.conn.execute(
                "SELECT household_id, max(doc_date) AS d FROM documents WHERE village=? AND status='active' "
                "AND type IN ('approval','confirmation') GROUP BY household_id", (village,))
        }
        chosen = []
        for household in list_households(self.conn, village):
            if category and household.category != category:
                continue
            # without an approval document, an active household's roster start date stands in
            when = decided_on.get(household.id) or (household.start_date if household.status == "active" else None)
            if when and start.isoformat() <= when <= end.isoformat():
                chosen.append(household)
        return chosen

    def proposed_households(self, village: str, start: dt.date, end: dt.date) -> list[HouseholdRecord]:
        """Households of a village proposed for approval (拟确认): investigated (入户调查) in
        [start, end] and not yet decided (no approval or refusal in their history). The 审核确认
        公示单 lists them with the households decided in the period: it is posted before the
        approval, which the history then refuses until the publicity period has ended."""
        active = "(e.doc_id IS NULL OR d.status='active')"
        investigated = {row["household_id"] for row in self.conn.execute(
            f"SELECT e.household_id FROM case_events e LEFT JOIN documents d ON d.doc_id=e.doc_id "
            f"WHERE e.kind='investigation' AND {active} AND e.event_date BETWEEN ? AND ?",
            (start.isoformat(), end.isoformat()))}
        decided = {row["household_id"] for row in self.conn.execute(
            f"SELECT e.household_id FROM case_events e LEFT JOIN documents d ON d.doc_id=e.doc_id "
            f"WHERE e.kind IN ('approval','refusal') AND {active}")}
        return [h for h in list_households(self.conn, village) if h.id in investigated - decided]

    # --- internals -------------------------------------------------------------------------

    def _document_row(self, doc_id: str) -> sqlite3.Row:
        row = self.conn.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"找不到文书 {doc_id}")
        return row

    def _generated(self, row: sqlite3.Row, reprinted: bool = False) -> Generated:
        root = self.home.root
        return Generated(
            doc_id=row["doc_id"], type=row["type"], title=row["title"], number=row["number"],
            household=row["household_id"], village=row["village"], date=row["doc_date"],
            pdf=str(root / row["pdf_path"]) if row["pdf_path"] else None,
            docx=str(root / row["docx_path"]) if row["docx_path"] else None,
            xlsx=str(root / row["xlsx_path"]) if row["xlsx_path"] else None,
            pages=row["pages"], reprinted=reprinted,
        )

    def _issue(self, template: templates.Template, context: dict[str, Any], params: dict[str, str],
               day: dt.date, *, scope_key: str, data: Any, household: HouseholdRecord | None = None,
               village: str | None = None, signing=None, replaced=None) -> Generated:
        key = _request_key(template.id, scope_key, day, params, data)
        existing = self.conn.execute(
            "SELECT doc_id, signed_by FROM documents WHERE request_key=? AND status='active'", (key,)
        ).fetchone()
        if existing:
            if existing["signed_by"]:
                raise ConflictError(
                    f"文书 {existing['doc_id']} 已由 {existing['signed_by']} 签章，不会以同一文号重新生成",
                    hint=f"如需更正，请加 --replaces {existing['doc_id']} 生成一份说明更正关系的新文书")
            return self.reprint(existing["doc_id"])
        village = village or (household.village if household else None)
        folder = storage.document_folder(self.home, day.year, village, household)
        written: list[Path] = []
        try:
            with transaction(self.conn):
                issued = self._take_number(template, day)
                context = {**context, "doc_id": issued.doc_id, "number": issued.number or ""}
                marks = None if signing is None else SealMarks(signing.seal, signing.name, signing.role,
                                                              signing.signature)
                document, pdf, issued.pages = self._render(template, context, doc_id=issued.doc_id,
                                                           number=issued.number, marks=marks)
                if signing is not None and signing.certificate is not None:
                    from archive.signing.pades import sign_pdf, signing_options

                    pdf = sign_pdf(pdf, signing.cert_file, name=f"{signing.role}{signing.name}",
                                   reason=f"{template.title} {issued.number or issued.doc_id}",
                                   location=self.config.office, **signing_options(self.home))
                stem = storage.file_stem(day, document.title, issued.doc_id)
                issued.pdf_path, issued.docx_path = folder / f"{stem}.pdf", folder / f"{stem}.docx"
                for path, blob in ((issued.pdf_path, pdf), (issued.docx_path, write_docx(document, author=self.config.office))):
                    files.write_atomic(path, blob)
                    written.append(path)
                warnings = self._record(template, document, issued, context, params, day, key=key, data=data,
                                        household=household, village=village, signing=signing, replaced=replaced)
        except BaseException:
            for path in written:  # the number was rolled back: leave no orphan files behind
                path.unlink(missing_ok=True)
            raise
        doc_id = issued.doc_id
        return dataclasses_replace(self._generated(self._document_row(doc_id)), warnings=warnings)


    def _take_number(self, template: templates.Template, day: dt.date) -> _Issued:
        """The document ID and, for a numbered type, the next 文号 of its sequence (inside the
        caller's write transaction: rolled back with it, so no gap)."""
        issued = _Issued(new_doc_id(self.conn, self.config.fonds))
        if template.number_code:
            issued.seq = next_value(self.conn, template.number_code, day.year)
            issued.number = format_number(self.config.township_short, template.number_code, day.year, issued.seq)
        return issued

    def _render(self, template: templates.Template, context: dict[str, Any], *, doc_id: str,
                number: str | None, marks: SealMarks | None = None):
        """The document from its template, and its PDF bytes and page count (nothing written). A
        posted template that would print an ID number is refused here, for drafts too."""
        document = templates.render(template, context)
        document.doc_id, document.number = doc_id, number
        # the title per 保障类别, as printed: a 特困 household's 申请书 is filed as 特困人员救助供养申请书
        printed = next((block.text.strip() for block in document.body if block.kind == "title"), "")
        document.title = (context.get("notice_title") or (printed if template.scope == "household" else "")
                          or document.title)
        if template.public:
            _refuse_identity_numbers(template, document)
        pdf, layout = write_pdf(document, self.fonts, author=self.config.office, marks=marks)
        return document, pdf, layout.pages

    def _record(self, template: templates.Template, document, issued: _Issued, context: dict[str, Any],
                params: dict[str, str], day: dt.date, *, key: str, data: Any, household: HouseholdRecord | None,
                village: str | None, signing, replaced) -> list[str]:
        """The catalog row of an issued document, its signature and the document it corrects, its
        effect on the household's history, the audit entries and the seal; returns the warnings."""
        doc_id, number = issued.doc_id, issued.number
        self.conn.execute(
            """INSERT INTO documents(doc_id, type, title, household_id, village, doc_date, number,
               number_code, number_year, number_seq, request_key, params, context, body_text, pages,
               pdf_path, docx_path) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (doc_id, template.id, document.title, household.id if household else None, village,
             day.isoformat(), number, template.number_code, day.year if issued.seq else None, issued.seq, key,
             json.dumps(params, ensure_ascii=False), json.dumps(context, ensure_ascii=False, default=str),
             document.plain_text(), issued.pages, _relative(self.home, issued.pdf_path),
             _relative(self.home, issued.docx_path)),
        )
        if signing is not None:
            self.conn.execute(
                "UPDATE documents SET signed_by=?, signed_at=?, signature_kind=? WHERE doc_id=?",
                (signing.name, now_text(), "pades" if signing.certificate else "seal", doc_id))
            audit(self.conn, self.home.operator, "document.sign", doc_id,
                  {"number": number, "approver": signing.name, "role": signing.role,
                   "digital_signature": signing.certificate is not None})
        if replaced is not None:
            self.conn.execute("UPDATE documents SET replaces=? WHERE doc_id=?", (replaced["doc_id"], doc_id))
            self.conn.execute("UPDATE documents SET status='voided', void_reason=? WHERE doc_id=?",
                              (f"已被 {number or doc_id} 更正", replaced["doc_id"]))
            audit(self.conn, self.home.operator, "document.replace", doc_id,
                  {"replaces": replaced["doc_id"], "number": number})
        record_files(self.conn, self.home.root, doc_id)
        warnings = record_document_effect(self.conn, self.config, self.home.operator, template.event, doc_id,
                                          day, context, household, data)
        audit(self.conn, self.home.operator, "document.generate", doc_id,
              {"type": template.id, "number": number, "household": household.id if household else None})
        seal_documents(self.conn, self.home.operator, [doc_id] + ([replaced["doc_id"]] if replaced is not None else []))
        return warnings


_SELECTION_NAMES = {"current": "在保", "decided": "拟确认或审核确认", "stopped": "停发（终止）"}


def _entries(households: list[HouseholdRecord], template: templates.Template, day: dt.date) -> list[dict[str, Any]]:
    """A village or month list: posted templates see only name, family size, amount (and a masked
    ID if asked); the office's own records see each household's full context."""
    if template.public:
        return public_entries(households, template.mask_id)
    return [{**household_context(h, day), "head_name": h.head_name} for h in households]


def _check_only_if(template: templates.Template, context: dict[str, Any]) -> None:
    """A template's own precondition (only_if: when, message), e.g. a 零报告 only for a month
    with no new case."""
    rule = template.only_if
    if not rule:
        return
    renderer = templates._Renderer(template, context)
    if not renderer.expression(rule["when"], ("only_if", "when")):
        raise ArchiveError(renderer.text(rule["message"], ("only_if", "message")))


def month_context(home: Home, template: templates.Template, month: dt.date, category: str | None) -> dict[str, Any]:
    """What a month-scope template sees (see Generator.month_document)."""
    from archive.casework.history import KIND_NAMES, all_events
    from archive.documents import sheets

    conn, config = home.db, home.config
    key = month.strftime("%Y-%m")
    everyone = [h for h in list_households(conn) if not category or h.category == category]
    assisted = sheets.households_in_month(households_as_of(conn, everyone, month), month)
    by_id = {h.id: h for h in everyone}
    grouped = all_events(conn)
    events, cases = [], {"approval": [], "suspension": [], "adjustment": [], "refusal": []}
    for household_id, history in grouped.items():
        household = by_id.get(household_id)
        if household is None:
            continue
        for event in history:
            starts = event.effective_month or event.event_date[:7]
            if event.event_date[:7] == key:
                events.append({"date": event.event_date, "date_cn": cn_date(dt.date.fromisoformat(event.event_date)),
                               "kind": event.kind, "kind_cn": KIND_NAMES.get(event.kind, event.kind),
                               "head_name": household.head_name, "village": household.village,
                               "category": household.category, "amount": event.amount, "covered": event.covered,
                               "number": event.number or "", "doc_id": event.doc_id or "",
                               "effective_month_cn": cn_month(dt.date.fromisoformat(starts + "-01")),
                               "reason": (event.detail or {}).get("reason") or ""})
            if event.kind in cases and (starts == key if event.kind != "refusal" else event.event_date[:7] == key):
                state = history_state(household, history, month)
                cases[event.kind].append({"head_name": household.head_name, "village": household.village,
                                          "category": household.category, "covered": state.covered,
                                          "amount": event.amount if event.amount is not None else state.amount})
    events.sort(key=lambda e: (e["date"], e["village"], e["head_name"]))
    entries = _entries(assisted, template, month_end(month))
    villages = [{"village": v, "households": sum(1 for h in assisted if h.village == v),
                 "people": sum(h.covered for h in assisted if h.village == v),
                 "amount": round(sum(h.amount for h in assisted if h.village == v), 2)} for v in config.villages]
    return {
        "month": key, "month_cn": cn_month(month), "period_from_cn": cn_date(month),
        "period_to_cn": cn_date(month_end(month)),
        "category_title": CATEGORY_TITLES.get(category, "社会救助") if category else "社会救助",
        "households": entries, "household_count": len(assisted), "people_count": sum(h.covered for h in assisted),
        "amount_total": round(sum(h.amount for h in assisted), 2), "villages": villages,
        "events": events if not template.public else [
            {k: e[k] for k in ("date_cn", "kind_cn", "head_name", "village", "amount", "covered")} for e in events],
        "new_cases": cases["approval"], "stopped_cases": cases["suspension"],
        "adjusted_cases": cases["adjustment"], "refused_cases": cases["refusal"],
        "new_count": len(cases["approval"]), "stopped_count": len(cases["suspension"]),
        "adjusted_count": len(cases["adjustment"]), "refused_count": len(cases["refusal"]),
    }


def history_state(household: HouseholdRecord, history: list, month: dt.date) -> HouseholdRecord:
    from archive.casework.history import apply_events

    return apply_events(household, history, month)


def _refuse_identity_numbers(template: templates.Template, document: Document) -> None:
    """Last line of defence for posted notices: no full ID number may be printed."""
    if _FULL_ID.search(document.plain_text()):
        raise TemplateError(f"模板 {template.path} 是张贴公示的文书，但生成的内容中出现了完整的身份证号，已拒绝生成。"
                            "公示只能显示户主姓名、家庭人口、保障金额（必要时显示隐去中间位的身份证号）")


def _relative(home: Home, path: Path) -> str:
    return str(path.relative_to(home.root))


def parse_set_options(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ArchiveError(f"--set 的写法不对：「{item}」，应为 --set 字段=值")
        params[key.strip()] = value.strip()
    return params


def parse_day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise ArchiveError(str(exc)) from None
