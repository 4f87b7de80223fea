"""Import the township roster (花名册) exported from the provincial system, XLSX or CSV.

One row per member. Header names vary between exports (spaces, full-width brackets, 身份证号
or 公民身份号码), so headers are normalised and matched against aliases. Every row is checked
(ID checksum and birth date, village, category, amounts); the import is all or nothing, and
importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import sqlite3
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from archive import idcard, regions
from archive.catalog import audit, now_text, transaction
from archive.config import Config
from archive.errors import ArchiveError, NotFoundError, RosterError, RowProblem
from archive.roster.checks import CATEGORIES, CATEGORY_ALIASES, STATUS_ALIASES, RowChecks
from archive.roster.text import decode_csv, label, name_problem, simplified

__all__ = ["CATEGORIES", "Household", "ImportResult", "Member", "import_roster", "parse_household_file",
           "parse_roster", "read_table"]
HEAD_RELATIONS = {"本人", "户主", "本人(户主)", "户主本人"}

# canonical field -> header aliases, compared after `_header_key`
_ALIASES: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号"),
    "township": ("乡镇", "乡镇街道", "街道", "乡镇名称"),
    "village": ("村", "村社区", "社区", "村居", "村名", "所属村"),
    "head_name": ("户主姓名", "户主"),
    "member_name": ("成员姓名", "姓名", "家庭成员姓名", "家庭成员"),
    "relation": ("与户主关系", "关系", "与户主的关系"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证"),
    "category": ("保障类别", "救助类别", "类别", "保障类型"),
    "covered": ("保障人数", "享受人数", "救助人数"),
    "amount": ("月保障金额", "保障金额", "月救助金额", "月保障金"),
    "start_date": ("开始日期", "享受日期", "起始日期", "保障起始日期", "开始时间"),
    "kin_filed": ("近亲属备案", "是否近亲属备案"),
    "phone": ("联系电话", "电话"),
    "address": ("家庭住址", "住址"),
    "status": ("状态", "保障状态", "救助状态"),
}
REQUIRED = ("village", "head_name", "member_name", "relation", "id_number", "category",
            "covered", "amount", "start_date")
LABELS = {
    "seq": "序号", "township": "乡镇(街道)", "village": "村(社区)", "head_name": "户主姓名",
    "member_name": "成员姓名", "relation": "与户主关系", "id_number": "身份证号",
    "category": "保障类别", "covered": "保障人数", "amount": "月保障金额(元)",
    "start_date": "开始日期", "kin_filed": "近亲属备案", "phone": "联系电话", "address": "家庭住址",
    "status": "状态",
}
# 状态 column (optional), checked by the shared checks; kept here for importers of the old name
_STATUS_ALIASES = STATUS_ALIASES
_CATEGORY_ALIASES = CATEGORY_ALIASES  # kept for importers of the old name


def _header_key(text: Any) -> str:
    key = simplified(unicodedata.normalize("NFKC", str(text or "")))
    key = re.sub(r"\s+", "", key)
    key = re.sub(r"\((元|人|元/月|街道|社区|居|户)\)", "", key)
    return key.replace("(", "").replace(")", "")


_ALIAS_INDEX = {_header_key(alias): name for name, aliases in _ALIASES.items() for alias in aliases}


@dataclass
class Member:
    name: str
    relation: str
    id_number: str


@dataclass
class Household:
    id: str
    village: str
    head_name: str
    category: str
    covered: int
    amount: float
    start_date: str
    kin_filed: bool = False
    status: str = "active"
    phone: str = ""
    address: str = ""
    members: list[Member] = field(default_factory=list)
    row: int = 0

    def digest(self) -> str:
        data = asdict(self)
        data.pop("row")
        return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@dataclass
class ImportResult:
    file: str
    sha256: str
    households: int = 0
    members: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    already_imported: bool = False
    warnings: list[str] = field(default_factory=list)
    # structured warnings and notes (row, column, message, hint, level), for a table
    findings: list[RowProblem] = field(default_factory=list)
    encoding: str | None = None
    # values that differ from what a decision set: not written, pending (archive.roster.differences)
    held: int = 0
    differences: list[Any] = field(default_factory=list)

    def summary_zh(self, limit: int = 50) -> str:
        lines = [f"花名册 {self.file}：共 {self.households} 户 {self.members} 人。"]
        if self.encoding and self.encoding not in ("utf_8", "gb18030"):
            lines.append(f"文件编码识别为 {label(self.encoding)}，姓名按原样导入。")
        if self.already_imported:
            lines.append("该文件此前已导入，本次没有任何变化。")
        else:
            lines.append(f"新增 {self.added} 户，更新 {self.updated} 户，未变 {self.unchanged} 户。")
        if self.differences:
            lines.append(f"{self.held} 户与档案中已作出的决定或已有文书不一致，这些数值未改动；新发现 {len(self.differences)} 处差异，"
                         "待确认（archive roster diff 查看，archive roster accept/reject 处理）：")
            lines += [f"  {d.describe()}" for d in self.differences[:limit]]
            if len(self.differences) > limit:
                lines.append(f"  ……另有 {len(self.differences) - limit} 处未列出")
        listed = {str(f).strip() for f in self.findings}
        lines += [f"注意：{w}" for w in self.warnings if w not in listed]
        for level, title in (("warning", "注意（请核实，不影响导入）"), ("note", "说明（导入时的转换）")):
            found = [f for f in self.findings if f.level == level]
            if found:
                lines.append(f"{title}：")
                lines += [str(f) for f in found[:limit]]
                if len(found) > limit:
                    lines.append(f"  ……另有 {len(found) - limit} 条未列出")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("findings", "differences")}
        data["findings"] = [f.to_json() for f in self.findings]
        data["differences"] = [d.to_json() for d in self.differences]
        return data


def read_table(path: Path) -> list[tuple[int, list[Any]]]:
    """Rows of a CSV or XLSX file as (row number as the user sees it, cells)."""
    return _read(path)[0]


def _read(path: Path) -> tuple[list[tuple[int, list[Any]]], str | None]:
    """Rows, and the encoding a CSV was decoded from (None for XLSX)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise NotFoundError(f"找不到花名册文件：{path}")
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:  # zipfile.BadZipFile, KeyError, InvalidFileException...
            raise ArchiveError(f"无法打开 Excel 文件「{path.name}」：文件已损坏或不是 xlsx 格式",
                               hint="请用 Excel 或 WPS 打开后另存为 .xlsx 再导入") from None
        sheet = book.worksheets[0]
        rows = [(index, list(values)) for index, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
        book.close()
        return rows, None
    if suffix in (".csv", ".txt"):
        readings = decode_csv(path.read_bytes(), path.name)
        for text, encoding in readings:  # the detected encoding first; another only if it has a header
            rows = [(index, row) for index, row in enumerate(csv.reader(io.StringIO(text)), start=1)]
            try:
                find_header(rows)
            except RosterError:
                continue
            return rows, encoding
        text, encoding = readings[0]
        return [(index, row) for index, row in enumerate(csv.reader(io.StringIO(text)), start=1)], encoding
    if suffix == ".xls":
        raise ArchiveError(f"暂不支持旧版 .xls 文件：{path}", hint="请在 Excel 或 WPS 中另存为 .xlsx 或 .csv 后再导入")
    raise ArchiveError(f"不支持的花名册格式「{suffix or '无扩展名'}」：{path}，请用 .xlsx 或 .csv")


def find_header(rows: list[tuple[int, list[Any]]], encoding: str | None = None) -> tuple[int, dict[str, int]]:
    """Locate the header row (title rows may come first) and map fields to column indexes."""
    read_as = ""
    head_text = "".join(str(c) for _, cells in rows[:15] for c in cells if c is not None)
    if (encoding and encoding not in ("utf_8", "gb18030")) or re.search("[\u0080-\u024f]", head_text):
        read_as = (f"\n文件编码识别为 {label(encoding or 'utf_8')}，内容可能不是中文或已成乱码；"
                   "请在 Excel 或 WPS 中另存为「CSV UTF-8」或 .xlsx 后再导入。")
    for position, (_, cells) in enumerate(rows[:15]):
        mapping: dict[str, int] = {}
        for column, cell in enumerate(cells):
            name = _ALIAS_INDEX.get(_header_key(cell))
            if name and name not in mapping:
                mapping[name] = column
        if "id_number" in mapping and "member_name" in mapping:
            missing = [LABELS[name] for name in REQUIRED if name not in mapping]
            if missing:
                raise RosterError(f"花名册第{rows[position][0]}行的表头缺少必需的列：{'、'.join(missing)}{read_as}")
            return position, mapping
    raise RosterError(
        "花名册中找不到表头行（前15行中没有同时包含「成员姓名」和「身份证号」的行）。"
        f"需要的列：{'、'.join(LABELS[n] for n in REQUIRED)}{read_as}"
    )


def _cell(cells: list[Any], mapping: dict[str, int], name: str) -> Any:
    column = mapping.get(name)
    if column is None or column >= len(cells):
        return None
    value = cells[column]
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip()
        return value or None
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class Parsed:
    """What a household source yields: households, warnings and notes, the CSV encoding."""
    households: list[Household]
    findings: list[RowProblem] = field(default_factory=list)
    encoding: str | None = None

    @property
    def warnings(self) -> list[str]:
        return [str(f).strip() for f in self.findings if f.level == "warning"]


def parse_roster(path: Path, config: Config, *, today: dt.date | None = None) -> tuple[list[Household], list[str]]:
    """Parse and check every row; raise RosterError listing all bad rows."""
    parsed = read_roster(path, config, today=today)
    return parsed.households, parsed.warnings


def read_roster(path: Path, config: Config, *, today: dt.date | None = None) -> Parsed:
    """Parse and check every row of a CSV/XLSX roster; raise RosterError listing all bad rows."""
    rows, encoding = _read(path)
    header_at, mapping = find_header(rows, encoding)
    checks = RowChecks(config, today=today)
    households: list[Household] = []
    open_heads: dict[tuple[str, str], Household | None] = {}  # None: the 户主 row had problems

    for row_no, cells in rows[header_at + 1:]:
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        household = _roster_row(row_no, cells, mapping, checks, open_heads, encoding)
        if household is not None:
            households.append(household)
            open_heads[(household.village, household.head_name)] = household

    if checks.problems:
        raise RosterError(f"花名册 {path.name} 有 {len(checks.problems)} 处问题，未导入任何数据：", checks.problems)
    if not households:
        raise RosterError(f"花名册 {path.name} 中没有任何户主行，未导入数据")
    for household in households:
        if household.covered != len(household.members):
            checks.warn(household.row,
                        f"{household.village} {household.head_name} 户：保障人数 {household.covered} 与列出的成员数 {len(household.members)} 不同",
                        LABELS["covered"], "请核对保障人数或补全成员行")
    return Parsed(households, checks.findings, encoding)


def _roster_row(row_no: int, cells: list[Any], mapping: dict[str, int], checks: RowChecks,
                open_heads: dict[tuple[str, str], Household | None], encoding: str | None) -> Household | None:
    """Check one member row; a 户主 row returns its new household, a member row joins its head's."""
    before = len(checks.problems)

    def bad(reason: str, column: str, hint: str | None = None) -> None:
        checks.error(row_no, reason, LABELS.get(column, column), hint)

    for name in REQUIRED:
        if _cell(cells, mapping, name) is None:
            bad("不能为空", name, f"请填写{LABELS.get(name, name)}；不清楚时向村里核实后填写")
    if len(checks.problems) > before:
        return None

    id_number = checks.id_number(_cell(cells, mapping, "id_number"), row_no, LABELS["id_number"]) or ""

    for name in ("head_name", "member_name"):
        reason = name_problem(_text(_cell(cells, mapping, name)))
        if reason:
            read_as = f"文件编码识别为 {label(encoding)}；" if encoding else ""
            bad(reason, name, f"{read_as}可能是编码错误造成的乱码，请另存为「CSV UTF-8」或 .xlsx 后重新导入")

    township = _cell(cells, mapping, "township")
    if township and _header_key(township) not in (_header_key(checks.config.township),
                                                  _header_key(checks.config.township_short)):
        bad(f"乡镇「{township}」不是本档案库的乡镇「{checks.config.township}」", "township",
            f"请确认选对了文件：本档案库只导入{checks.config.township}的花名册；乡镇名写错时改为「{checks.config.township}」")

    village = checks.village(_text(_cell(cells, mapping, "village")), row_no, LABELS["village"])
    relation = simplified(_text(_cell(cells, mapping, "relation")))
    category = checks.category(_text(_cell(cells, mapping, "category")), row_no, LABELS["category"],
                               note_old_term=relation in HEAD_RELATIONS)

    try:
        covered = int(float(_text(_cell(cells, mapping, "covered"))))
        if covered < 0:
            raise ValueError
    except ValueError:
        bad(f"保障人数「{_text(_cell(cells, mapping, 'covered'))}」不是非负整数", "covered", "填写整数，例如 3（不带「人」字）")
        covered = 0
    try:
        amount = round(float(_text(_cell(cells, mapping, "amount")).replace(",", "").replace("元", "")), 2)
        if amount < 0:
            raise ValueError
    except ValueError:
        bad(f"月保障金额「{_text(_cell(cells, mapping, 'amount'))}」不是有效金额", "amount", "填写数字，例如 650 或 650.50（不带「元」字）")
        amount = 0.0
    start = checks.start_date(_cell(cells, mapping, "start_date"), row_no, LABELS["start_date"])

    status = checks.status(_text(_cell(cells, mapping, "status")), row_no, LABELS["status"])

    head_name = _text(_cell(cells, mapping, "head_name"))
    member = Member(_text(_cell(cells, mapping, "member_name")), relation, id_number)
    if len(checks.problems) > before:
        if member.relation in HEAD_RELATIONS:
            open_heads[(village, head_name)] = None  # its members are not reported a second time
        return None
    if member.relation in HEAD_RELATIONS:
        if member.name != head_name:
            bad(f"与户主关系为「{member.relation}」，但成员姓名「{member.name}」与户主姓名「{head_name}」不一致", "member_name",
                "户主本人的一行，成员姓名应与户主姓名相同；是其他成员时，与户主关系填写其与户主的关系（如 配偶、子）")
            return None
        return Household(
            id=id_number, village=village, head_name=head_name, category=category or "",
            covered=covered, amount=amount, start_date=start,
            kin_filed=_text(_cell(cells, mapping, "kin_filed")) in ("是", "1", "Y", "y", "√", "已备案"),
            status=status or "active",
            phone=_text(_cell(cells, mapping, "phone")), address=_text(_cell(cells, mapping, "address")),
            members=[member], row=row_no,
        )
    # a member attaches to the nearest household above it with the same head and village
    if (village, head_name) in open_heads and open_heads[(village, head_name)] is None:
        return None
    household = open_heads.get((village, head_name))
    if household is None:
        bad(f"找不到户主「{head_name}」（{village}）的户主行：成员行应排在其户主行之后，户主行的与户主关系应为「本人」或「户主」", "head_name",
            "把该成员行移到其户主行之后，或补上户主行；并核对户主姓名和村(社区)两列与户主行一致")
        return None
    household.members.append(member)
    return None


def parse_household_file(path: Path, config: Config, *, today: dt.date | None = None) -> tuple[list[Household], list[str]]:
    """A households.yaml/.json file (schemas/households.schema.json); problems carry YAML lines."""
    parsed = read_household_file(path, config, today=today)
    return parsed.households, parsed.warnings


def read_household_file(path: Path, config: Config, *, today: dt.date | None = None) -> Parsed:
    """A households.yaml/.json file, checked like roster rows; problems carry YAML lines."""
    from archive.yamldoc import DataFileError, line_of, load_validated

    try:
        data, lines = load_validated(path, "households")
    except DataFileError as exc:
        raise RosterError(exc.message) from None
    checks = RowChecks(config, today=today)
    households: list[Household] = []
    for index, entry in enumerate(data["households"]):
        line = line_of(lines, ("households", index)) or 0
        members = []
        for m_index, raw in enumerate(entry["members"]):
            m_line = line_of(lines, ("households", index, "members", m_index, "id_number")) or line
            number = checks.id_number(raw["id_number"], m_line, "id_number")
            members.append(Member(raw["name"].strip(), raw["relation"].strip(), number or idcard.normalize(str(raw["id_number"]))))
        if members[0].relation not in HEAD_RELATIONS:
            checks.error(line, f"第一名成员应为户主（与户主关系为「本人」或「户主」），实为「{members[0].relation}」",
                         hint="把户主放在 members 的第一项，其 relation 写「本人」")
        village = checks.village(entry["village"], line_of(lines, ("households", index, "village")) or line, "village")
        category = checks.category(str(entry["category"]), line_of(lines, ("households", index, "category")) or line,
                                   "category")
        status = checks.status(str(entry.get("status", "在保")), line_of(lines, ("households", index, "status")) or line,
                               "status")
        start = ""
        if entry.get("start_date"):
            start = checks.start_date(entry["start_date"], line_of(lines, ("households", index, "start_date")) or line, "start_date")
        households.append(Household(
            id=members[0].id_number, village=village, head_name=members[0].name, category=category or "",
            covered=entry.get("covered", len(members)), amount=round(float(entry.get("amount", 0)), 2),
            start_date=start, kin_filed=entry.get("kin_filed", False),
            status=status or "active", phone=entry.get("phone", ""),
            address=entry.get("address", ""), members=members, row=line,
        ))
    if checks.problems:
        raise RosterError(f"家庭数据文件 {path.name} 有 {len(checks.problems)} 处问题，未导入任何数据：", checks.problems)
    return Parsed(households, checks.findings)


def _keeping(household: Household, row: sqlite3.Row, held: set[str]) -> Household:
    """The household to write: the roster's values, except the held ones, which stay as stored."""
    kept = {name: row[name] for name in ("amount", "covered", "status", "category", "village", "head_name")
            if name in held}
    return replace(household, **kept)


def import_roster(conn: sqlite3.Connection, path: Path, config: Config, operator: str, *,
                  today: dt.date | None = None) -> ImportResult:
    """Import a roster or household file, all or nothing. A household already in the catalog
    whose history holds a decision keeps what the decision set: the roster's differing values
    are recorded as differences for a person to accept or reject (archive.roster.differences)."""
    from archive.roster import differences
    if not path.exists():
        raise NotFoundError(f"找不到花名册文件：{path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        parsed = read_household_file(path, config)
    else:
        parsed = read_roster(path, config)
    households = parsed.households
    result = ImportResult(file=path.name, sha256=digest, households=len(households),
                          members=sum(len(h.members) for h in households), warnings=parsed.warnings,
                          findings=parsed.findings, encoding=parsed.encoding)
    if not regions.codes_named(config.county):
        result.warnings.append(f"县(区)「{config.county}」在行政区划代码表中找不到，未核对身份证地区码是否属于本县")
    if conn.execute("SELECT 1 FROM roster_imports WHERE sha256=?", (digest,)).fetchone():
        result.already_imported = True
        result.unchanged = len(households)
        return result
    problems: list[RowProblem] = []
    with transaction(conn):
        for household in households:
            old = conn.execute("SELECT data_sha FROM households WHERE id=?", (household.id,)).fetchone()
            digest_h = household.digest()
            held: set[str] = set()
            if old:
                # every household of the file against its history, changed since the last roster or not
                found = differences.compare(conn, household, today=today)
                fresh, _rejected = differences.held(conn, found)
                result.differences += differences.record(conn, operator, household.id, fresh, import_sha=digest,
                                                         file_name=path.name)
                held = {d.field for d in found}
                result.held += bool(found)
            if old and old["data_sha"] == digest_h:
                result.unchanged += 1
                continue
            if old:
                stored = conn.execute("SELECT * FROM households WHERE id=?", (household.id,)).fetchone()
                digest_file, household = digest_h, _keeping(household, stored, held)
                if "members" not in held:
                    conn.execute("DELETE FROM members WHERE household_id=?", (household.id,))
                conn.execute(
                    """UPDATE households SET village=?, head_name=?, category=?, covered=?, amount=?,
                       start_date=?, kin_filed=?, phone=?, address=?, data_sha=?, status=?,
                       updated_at=? WHERE id=?""",
                    (household.village, household.head_name, household.category, household.covered,
                     household.amount, household.start_date, int(household.kin_filed), household.phone,
                     household.address, digest_file, household.status, now_text(), household.id),
                )
                result.updated += 1  # its documents are re-indexed: trigger households_rev (migration 0010)
            else:
                conn.execute(
                    """INSERT INTO households(id, village, head_name, category, covered, amount,
                       start_date, kin_filed, phone, address, data_sha, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
                    (household.id, household.village, household.head_name, household.category,
                     household.covered, household.amount, household.start_date, int(household.kin_filed),
                     household.phone, household.address, digest_h, household.status),
                )
                result.added += 1
            for seq, member in enumerate(household.members if "members" not in held else [], start=1):
                clash = conn.execute(
                    "SELECT m.household_id, h.head_name FROM members m JOIN households h ON h.id=m.household_id WHERE m.id_number=?",
                    (member.id_number,),
                ).fetchone()
                if clash:
                    problems.append(RowProblem(household.row, f"成员 {member.name}（{member.id_number}）已登记在户主 {clash['head_name']} 的家庭中，一人不能同属两户",
                                               hint=f"按户口簿核对该成员属于哪一户：属于本户时先把他从户主 {clash['head_name']} 家的行中删去，否则删去本行"))
                    continue
                conn.execute(
                    "INSERT INTO members(household_id, seq, name, relation, id_number) VALUES (?,?,?,?,?)",
                    (household.id, seq, member.name, member.relation, member.id_number),
                )
        if problems:
            raise RosterError(f"花名册 {path.name} 与已有数据冲突，未导入任何数据：", problems)
        conn.execute(
            "INSERT INTO roster_imports(sha256, file_name, households, members) VALUES (?,?,?,?)",
            (digest, path.name, result.households, result.members),
        )
        audit(conn, operator, "roster.import", path.name,
              {"sha256": digest, "added": result.added, "updated": result.updated, "held": result.held,
               "differences": [d.id for d in result.differences]})
    return result
