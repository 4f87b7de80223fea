"""Month end (按月归集): number, stamp, box and catalogue everything of a month not yet filed.

Each 件 gets its 档号 `全宗号-WS·年度-保管期限-机构(问题)代码-件号`. The 机构(问题) code is the
village's (分村装盒), so each village's boxes hold consecutive 件号; the township's own records
use the township code. 件号 come from a per-class, per-year sequence inside the write
transaction: no gaps. A signed scan of a generated notice is the 件; the generated copy is filed
with it as an attachment, not numbered again.

Running it twice for the same month changes nothing; a filed month is only filed again after an
explicit, recorded `reopen-month`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from archive.catalog import audit, next_value, now_text, record_files, transaction
from archive.dates import month_end
from archive.documents import storage
from archive.documents.types import filing_class, registry
from archive.errors import ArchiveError, ConflictError
from archive.filing import catalogue
from archive.filing.completeness import check_month
from archive.filing.late import WAITING, late_documents, late_message
from archive.filing.outputs import write_output
from archive.filing.stamp import StampFields, stamp_first_page
from archive.home import Home
from archive.roster.households import get_household
from archive.sealing import anchor_line, anchor_token, audit_head, register_output, seal_documents


@dataclass
class FilingResult:
    month: str
    changed: bool
    items: list[catalogue.Item] = field(default_factory=list)
    attached: int = 0
    boxes: list[catalogue.Box] = field(default_factory=list)
    findings: list = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    waiting_review: int = 0
    empty: bool = False
    late: int = 0           # documents of this closed month added after it was filed
    reclosed: bool = False  # a reopened month closed again with nothing new
    not_pdfa: dict[str, list[str]] = field(default_factory=dict)  # 档号 -> why its 归档 copy is not PDF/A

    @property
    def late_message(self) -> str:
        return late_message(self.month, self.late) if self.late else ""

    def to_json(self) -> dict:
        return {
            "month": self.month, "changed": self.changed, "items": len(self.items), "attached": self.attached,
            "first_code": self.items[0].archival_code if self.items else None,
            "last_code": self.items[-1].archival_code if self.items else None,
            "boxes": [b.__dict__ for b in self.boxes], "findings": [f.to_json() for f in self.findings],
            "outputs": self.outputs, "waiting_review": self.waiting_review, "empty": self.empty,
            "late": self.late, "late_message": self.late_message or None,
            "not_pdfa": self.not_pdfa, "reclosed": self.reclosed,
        }


def archival_code(fonds: str, year: int, retention: str, code: str, item: int) -> str:
    return f"{fonds}-WS·{year}-{retention}-{code}-{item:04d}"


def reopen_month(home: Home, month: dt.date, reason: str) -> None:
    if not reason.strip():
        raise ArchiveError("重新打开已归档的月份必须说明原因（--reason）")
    key = month.strftime("%Y-%m")
    with transaction(home.db):
        row = home.db.execute("SELECT status FROM filing_months WHERE month=?", (key,)).fetchone()
        if row is None or row["status"] != "filed":
            raise ConflictError(f"{key} 尚未归档，无需重新打开")
        home.db.execute("UPDATE filing_months SET status='reopened' WHERE month=?", (key,))
        audit(home.db, home.operator, "filing.reopen", key, {"reason": reason})


def _candidates(home: Home, prefix: str):
    return home.db.execute(
        """SELECT d.*, h.head_name FROM documents d LEFT JOIN households h ON h.id = d.household_id
           WHERE substr(d.doc_date, 1, 7) = ? AND """ + WAITING,
        (prefix,)).fetchall()


def _order_key(home: Home, row) -> tuple:
    villages = home.config.villages
    village_rank = villages.index(row["village"]) if row["village"] in villages else len(villages)
    return (village_rank, row["household_id"] is None, row["head_name"] or "", row["household_id"] or "",
            row["doc_date"], row["doc_id"])


def _box_for(home: Home, year: int, village: str, retention: str) -> tuple[int, int]:
    """(box id, box number) with room for one more 件, opening the next box when full."""
    capacity = int(home.config.filing["box_capacity"])
    box = home.db.execute(
        "SELECT id, box_no FROM boxes WHERE year=? AND village=? AND retention=? ORDER BY box_no DESC LIMIT 1",
        (year, village, retention)).fetchone()
    if box is not None:
        used = home.db.execute("SELECT count(*) FROM documents WHERE box_id=?", (box["id"],)).fetchone()[0]
        if used < capacity:
            return box["id"], box["box_no"]
    number = (box["box_no"] + 1) if box else 1
    cursor = home.db.execute("INSERT INTO boxes(year, village, retention, box_no) VALUES (?,?,?,?) RETURNING id",
                             (year, village, retention, number))
    return cursor.fetchone()[0], number


Progress = Callable[[int, int, str], None]


def file_month(home: Home, month: dt.date, progress: Progress | None = None) -> FilingResult:
    """`progress(done, total, message)` is called as each 件 is numbered and stamped, and before
    the catalogues are written."""
    prefix = month.strftime("%Y-%m")
    if month_end(month) >= dt.date.today() + dt.timedelta(days=3650):
        raise ArchiveError(f"{prefix} 还没有到")
    stamped: list[Path] = []
    try:
        # BEGIN IMMEDIATE before the first read: the month's documents are taken as one snapshot,
        # and a writer (generate, ingest) waits until the month is closed. What it adds after is late.
        with transaction(home.db):
            return _file_snapshot(home, month, stamped, progress or (lambda done, total, message: None))
    except BaseException:
        for path in stamped:  # the numbers were rolled back: no stamped copy may claim one
            path.unlink(missing_ok=True)
        raise


def _file_snapshot(home: Home, month: dt.date, stamped: list[Path], progress: Progress) -> FilingResult:
    """File the month inside the caller's write transaction."""
    prefix = month.strftime("%Y-%m")
    config = home.config
    state = home.db.execute("SELECT * FROM filing_months WHERE month=?", (prefix,)).fetchone()
    if state is not None and state["status"] == "filed":
        report = json.loads(state["report"] or "{}")
        late = late_documents(home.db, prefix)
        return FilingResult(prefix, False, outputs=report.get("outputs", {}),
                            late=len(late[0].doc_ids) if late else 0)
    rows = _candidates(home, prefix)
    # a signed scan is the 件; its generated original goes with it
    scans_of = {row["source_doc"]: row for row in rows if row["source_doc"]}
    pieces, attachments = [], []
    for row in rows:
        if row["origin"] == "generated" and row["doc_id"] in scans_of:
            attachments.append((row["doc_id"], scans_of[row["doc_id"]]["doc_id"]))
        elif row["source_doc"]:
            original = home.db.execute("SELECT archival_code FROM documents WHERE doc_id=?", (row["source_doc"],)).fetchone()
            if original and original["archival_code"]:
                attachments.append((row["doc_id"], row["source_doc"]))  # the original was filed earlier
            else:
                pieces.append(row)
        else:
            pieces.append(row)
    pieces.sort(key=lambda r: _order_key(home, r))
    if not pieces and not attachments:
        if state is not None and state["status"] == "reopened":
            # reopened and nothing came: close it again (recorded). Its outputs stand, unless a
            # filed 件 was voided while it was open: then its catalogues are written anew (the
            # earlier versions kept) with the 件 marked 已作废 in 备注
            voided = voided_since_filing(home, prefix)
            home.db.execute("UPDATE filing_months SET status='filed' WHERE month=?", (prefix,))
            report = json.loads(state["report"] or "{}")
            result = FilingResult(prefix, True, outputs=report.get("outputs", {}), reclosed=True)
            if voided:
                touched = {i.household for i in month_items(home, prefix)
                           if i.archival_code in voided.values() and i.household}
                result.findings = check_month(home, month)
                result.outputs = _write_outputs(home, month, result, touched)
                home.db.execute("UPDATE filing_months SET report=? WHERE month=?", (json.dumps(
                    {**report, "outputs": result.outputs}, ensure_ascii=False), prefix))
            audit(home.db, home.operator, "filing.close", prefix,
                  {"items": 0, "reason": "重新打开后没有新文书", "voided": sorted(voided)})
            return result
        # nothing to file: the month is not closed, so what arrives later is filed without reopening
        return FilingResult(prefix, False, empty=True)
    result = FilingResult(prefix, True, attached=len(attachments))
    result.waiting_review = home.db.execute(
        "SELECT count(*) FROM scans s JOIN documents d ON d.doc_id=s.doc_id WHERE s.status='review' "
        "AND substr(d.doc_date,1,7)=?", (prefix,)).fetchone()[0]
    filing_round = _next_round(home, prefix)
    touched_boxes: set[int] = set()
    types = registry(home)
    total = len(pieces) + 1  # the catalogues are the last step
    for done, row in enumerate(pieces):
        progress(done, total, f"编号、加盖归档章：{row['title'] or row['doc_id']}")
        year = int(row["doc_date"][:4])
        _, retention = filing_class(home, row["type"], types)
        village = row["village"] if row["village"] in config.villages else None
        code = config.village_code(village)
        item = next_value(home.db, f"item:{retention}:{code}", year)
        code_text = archival_code(config.fonds, year, retention, code, item)
        box_id, box_no = _box_for(home, year, village or config.township, retention)
        touched_boxes.add(box_id)
        stamped_rel = None
        if row["pdf_path"]:
            source = home.root / row["pdf_path"]
            target = source.with_name(source.stem.replace("-原件", "") + "-归档.pdf")
            stamped.append(target)
            problems = stamp_first_page(source, target,
                                        StampFields(config.fonds, year, item, code, retention, row["pages"] or 1))
            if problems:  # a born-digital file that cannot conform: the copy makes no PDF/A claim
                result.not_pdfa[code_text] = problems
            stamped_rel = str(target.relative_to(home.root))
        home.db.execute(
            """UPDATE documents SET archival_code=?, class_code=?, retention=?, item_no=?, box_id=?,
               filed_month=?, filed_at=?, filing_round=?, stamped_path=?
               WHERE doc_id=?""",
            (code_text, code, retention, item, box_id, prefix, now_text(), filing_round, stamped_rel, row["doc_id"]))
        record_files(home.db, home.root, row["doc_id"])
        result.items.append(catalogue.Item(
            seq=len(result.items) + 1, archival_code=code_text, number=row["number"] or "",
            responsible=_responsible(row, config, row["head_name"]), title=_title(row),
            date=row["doc_date"].replace("-", ""),
            secrecy=config.filing.get("secrecy", ""), pages=row["pages"] or 1,
            note=_note(row, filing_round),
            household=row["household_id"], village=village or config.township, box_no=box_no, item_no=item))
    for doc_id, parent in attachments:
        home.db.execute("UPDATE documents SET attached_to=?, filed_month=? WHERE doc_id=?",
                        (parent, prefix, doc_id))
    # seal what was filed: the seals chain into the audit log before its head is anchored below
    seal_documents(home.db, home.operator, [r["doc_id"] for r in pieces] + [d for d, _ in attachments])
    progress(len(pieces), total, "生成归档文件目录、盒脊与备考表、完整性报告")
    result.boxes = _boxes(home, touched_boxes)
    result.findings = check_month(home, month)
    result.outputs = _write_outputs(home, month, result)
    home.db.execute(
        """INSERT INTO filing_months(month, status, items, filed_at, operator, report) VALUES (?,?,?,?,?,?)
           ON CONFLICT(month) DO UPDATE SET status='filed', items=filing_months.items + excluded.items, filed_at=excluded.filed_at,
           operator=excluded.operator, report=excluded.report""",
        (prefix, "filed", len(result.items), now_text(), home.operator,
         json.dumps({"outputs": result.outputs, "items": len(result.items), "round": filing_round},
                    ensure_ascii=False)))
    audit(home.db, home.operator, "filing.month", prefix,
          {"items": len(result.items), "attached": len(attachments), "boxes": len(result.boxes),
           "round": filing_round,
           "first": result.items[0].archival_code if result.items else None,
           "last": result.items[-1].archival_code if result.items else None})
    return result


def _next_round(home: Home, prefix: str) -> int:
    """1 for a month's first filing, 2… for each supplement after `reopen-month`."""
    last = home.db.execute(
        "SELECT max(coalesce(filing_round, 1)) FROM documents WHERE filed_month=? AND archival_code IS NOT NULL",
        (prefix,)).fetchone()[0]
    return (last or 0) + 1


def voided_since_filing(home: Home, prefix: str) -> dict[str, str]:
    """Filed 件 of the month (doc_id -> 档号) voided after the month's outputs were last written."""
    last = home.db.execute(
        "SELECT max(id) FROM audit WHERE action IN ('filing.month', 'filing.close') AND target=?",
        (prefix,)).fetchone()[0] or 0
    return {row["doc_id"]: row["archival_code"] for row in home.db.execute(
        """SELECT d.doc_id, d.archival_code FROM documents d JOIN audit a
           ON a.action='document.void' AND a.target=d.doc_id AND a.id > ?
           WHERE d.filed_month=? AND d.archival_code IS NOT NULL AND d.status='voided'""", (last, prefix))}


def require_open_for_change(home: Home, row) -> None:
    """A 件 filed in a closed month is changed (voided) only after the month is reopened, so that
    its 归档文件目录 and 卷内目录 are written again with the change; refused otherwise."""
    month = row["filed_month"]
    if not month or not row["archival_code"]:
        return
    state = home.db.execute("SELECT status FROM filing_months WHERE month=?", (month,)).fetchone()
    if state is not None and state["status"] == "filed":
        raise ConflictError(
            f"文书 {row['doc_id']} 已归入 {month} 月档案（档号 {row['archival_code']}），该月已归档，不能直接作废",
            hint=f"先 archive reopen-month {month} --reason 原因，作废后再 archive file-month {month} 重新生成归档文件目录")


def _note(row, filing_round: int | None) -> str:
    notes = []
    if row["status"] == "voided":
        reason = (row["void_reason"] or "").strip()
        notes.append(f"已作废（{reason}）" if reason else "已作废")
    if row["origin"] == "scan" and row["source_doc"]:
        notes.append("附原稿")
    if (filing_round or 1) > 1:
        notes.append("补充归档")
    return "，".join(notes)


def _title(row) -> str:
    name = row["head_name"]
    if row["origin"] == "scan" and row["source_doc"]:
        return f"{name or ''}{'户' if name else ''}{row['title']}（签收件）"
    if not name and not row["household_id"] and row["village"] and row["title"] and row["village"] not in row["title"]:
        return f"{row['village']}{row['title']}"  # a village's 公示单 names its village
    return f"{name}户{row['title']}" if name and row["title"] and name not in row["title"] else row["title"]


# documents the applicant writes and signs: their 责任者 is the applicant, not the office
_BY_APPLICANT = frozenset({"application", "declaration"})


def _responsible(row, config, head_name: str | None) -> str:
    return head_name if row["type"] in _BY_APPLICANT and head_name else config.office


def _boxes(home: Home, ids: set[int]) -> list[catalogue.Box]:
    out = []
    for box_id in sorted(ids):
        box = home.db.execute("SELECT * FROM boxes WHERE id=?", (box_id,)).fetchone()
        span = home.db.execute("SELECT min(item_no), max(item_no), count(*), min(class_code) FROM documents WHERE box_id=?",
                               (box_id,)).fetchone()
        out.append(catalogue.Box(box["year"], box["village"], box["retention"], box["box_no"], span[0], span[1], span[2], span[3]))
    return out


def month_items(home: Home, prefix: str) -> list[catalogue.Item]:
    """Everything filed for the month so far, first filing first, each supplement after it
    (marked 补充归档), in the order the 件号 were given."""
    config = home.config
    rows = home.db.execute(
        """SELECT d.*, h.head_name, b.box_no, b.village AS box_village FROM documents d
           LEFT JOIN households h ON h.id = d.household_id JOIN boxes b ON b.id = d.box_id
           WHERE d.filed_month = ? AND d.archival_code IS NOT NULL""", (prefix,)).fetchall()
    rows = sorted(rows, key=lambda r: (r["filing_round"] or 1, _order_key(home, r)))
    return [catalogue.Item(
        seq=n, archival_code=r["archival_code"], number=r["number"] or "",
        responsible=_responsible(r, config, r["head_name"]),
        title=_title(r), date=r["doc_date"].replace("-", ""), secrecy=config.filing.get("secrecy", ""),
        pages=r["pages"] or 1, note=_note(r, r["filing_round"]), household=r["household_id"],
        village=r["box_village"], box_no=r["box_no"], item_no=r["item_no"]) for n, r in enumerate(rows, 1)]


def _box_notes(home: Home, prefix: str, boxes: list[catalogue.Box]) -> dict[int, str]:
    """备考表 remarks: how many of a box's 件 were filed as a supplement."""
    notes = {}
    for index, box in enumerate(boxes):
        count = home.db.execute(
            """SELECT count(*) FROM documents d JOIN boxes b ON b.id = d.box_id
               WHERE b.year=? AND b.village=? AND b.retention=? AND b.box_no=? AND coalesce(d.filing_round, 1) > 1""",
            (box.year, box.village, box.retention, box.box_no)).fetchone()[0]
        if count:
            notes[index] = f"其中补充归档 {count} 件（重新打开月份后归档，见操作日志）。"
    return notes


def _write_outputs(home: Home, month: dt.date, result: FilingResult, households: set[str] | None = None) -> dict[str, str]:
    """The month's outputs, always listing everything filed for the month; a replaced version is
    kept. A 卷内目录 is written for each household of `households` (default: those filed now)."""
    config = home.config
    prefix = month.strftime("%Y-%m")
    folder = home.documents_dir / str(month.year) / "_归档" / prefix
    label = f"{month.year}年{month.month}月"
    outputs: dict[str, str] = {}

    def save(name: str, blob: bytes, path: Path | None = None, kind: str | None = None) -> None:
        path = path or folder / name
        kind = kind or name.split("-")[0]
        write_output(home, path, blob, name, kind)  # a replaced version is kept and registered
        outputs[name] = register_output(home.db, home.root, path, kind, home.operator)

    items = month_items(home, prefix)
    chain_head = audit_head(home.db)  # the anchor: printed in the catalogue, checked by verify
    pdf, xlsx = catalogue.filing_catalogue(f"{config.township}{label}归档文件目录", items,
                                           (anchor_line(chain_head), anchor_token(chain_head)))
    save(f"归档文件目录-{prefix}.pdf", pdf)
    save(f"归档文件目录-{prefix}.xlsx", xlsx)
    month_box_ids = {r[0] for r in home.db.execute(
        "SELECT DISTINCT box_id FROM documents WHERE filed_month=? AND box_id IS NOT NULL", (prefix,))}
    boxes = _boxes(home, month_box_ids)
    if boxes:
        save(f"盒脊与备考表-{prefix}.pdf", catalogue.box_spine_and_notes(
            boxes, config.fonds, config.township, _box_notes(home, prefix, boxes), home.named_operator or "",
            dt.date.today().strftime("%Y年%m月%d日")))
    rows = [[f.village, f.name, f.household, f.kind, f.detail] for f in result.findings]
    pdf, xlsx = catalogue.table_report(f"{config.township}{label}归档完整性报告", ["村(社区)", "户主", "户主身份证号", "问题", "说明"],
                                       rows, [28, 22, 45, 25, 140])
    save(f"完整性报告-{prefix}.pdf", pdf)
    save(f"完整性报告-{prefix}.xlsx", xlsx)
    # a 卷内目录 for every household file touched, listing everything filed in it so far
    if households is None:
        households = {i.household for i in result.items if i.household}
    for household in sorted(households):
        head = home.db.execute("SELECT head_name, village FROM households WHERE id=?", (household,)).fetchone()
        filed = home.db.execute(
            """SELECT d.*, b.box_no FROM documents d JOIN boxes b ON b.id=d.box_id WHERE d.household_id=?
               AND d.archival_code IS NOT NULL ORDER BY d.doc_date, d.item_no""", (household,)).fetchall()
        hh_items = [catalogue.Item(n, r["archival_code"], r["number"] or "",
                                   _responsible(r, config, head["head_name"]), r["title"],
                                   r["doc_date"].replace("-", ""), "", r["pages"] or 1,
                                   "，".join(filter(None, [f"第{r['box_no']}盒", _note(r, 1)])), household,
                                   r["village"] or "", r["box_no"], r["item_no"]) for n, r in enumerate(filed, 1)]
        blob = catalogue.file_catalogue("卷内目录", f"{head['village']} {head['head_name']}户（{household}）", hh_items)
        path = storage.document_folder(home, month.year, head["village"], get_household(home.db, household)) / "卷内目录.pdf"
        save(f"卷内目录/{head['head_name']}-{household[-4:]}", blob, path, "卷内目录")
    return outputs

