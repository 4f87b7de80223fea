"""四性检测 (DA/T 70-2018) over the whole archive home:

- 真实性 authenticity: every stored file's SHA-256 matches the catalog; every document's record
  matches the last seal the audit log holds for it (a row edited by hand is seen); every filing
  output matches its registered digest;
- 完整性 integrity: no file missing, every file under the data folders registered (unknown files
  and left-over temporary files are reported), no gap or repeat in any 件号 sequence, quarantined
  originals and the scan registry intact;
- 可用性 usability: every file opens, in an open format, unencrypted;
- 安全性 security: the audit log's hash chain is unbroken (HMAC when a key is configured) and
  agrees with the anchors printed in the months' 归档文件目录.

Each check is an independent function in CHECKS; it reads the home and adds findings.

What cannot be seen (see also README): audit rows appended after the newest anchor and then
deleted, if they neither sealed a document nor registered a file; and, without an HMAC key, a
catalog and audit log rewritten consistently after the newest anchor. A rollback of the whole
home (catalog and files together) to before the newest anchor is seen only against the printed,
signed catalogue kept on paper.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from archive.catalog import FILE_COLUMNS, HMAC_PREFIX, audit_hash, file_digest, group_concat
from archive.home import CATALOG_NAME, CONFIG_NAME, Home
from archive.sealing import OUTPUT_ACTION, SEAL_ACTION, all_record_digests, parse_anchor

OPEN_FORMATS = {".pdf", ".docx", ".xlsx", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".json"}
# walked file by file; the inbox (scans/) is waiting input that ingest files or refuses entry by entry
DATA_FOLDERS = ("documents", "quarantine")
REASON_SUFFIX = ".原因.txt"                            # written next to a quarantined file
_TEMP = re.compile(r"(\.tmp|\.part|~)$", re.IGNORECASE)


@dataclass
class Finding:
    check: str        # 真实性 / 完整性 / 可用性 / 安全性
    target: str       # file path, document, 档号 class, or audit row
    problem: str
    code: str = ""    # machine-readable kind, e.g. record_altered, unknown_file


@dataclass
class VerifyResult:
    files: int = 0
    documents: int = 0
    audit_rows: int = 0
    outputs: int = 0
    anchors: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)  # each check run, in order

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "files": self.files, "documents": self.documents,
                "audit_rows": self.audit_rows, "outputs": self.outputs, "anchors": self.anchors,
                "seconds": round(self.seconds, 2), "findings": [asdict(f) for f in self.findings]}

    def report_zh(self) -> str:
        lines = [f"四性检测：{self.documents} 份文书、{self.files} 个文件、{self.outputs} 份归档目录和报表、"
                 f"{self.audit_rows} 条操作日志（{self.anchors} 个校验点），用时 {self.seconds:.1f} 秒。"]
        if self.ok:
            lines.append("真实性、完整性、可用性、安全性检测均通过。")
        else:
            lines.append(f"发现 {len(self.findings)} 个问题：")
            lines += [f"  【{f.check}】{f.target}：{f.problem}" for f in self.findings]
        return "\n".join(lines)


@dataclass
class Context:
    """What the checks share: the home, the result to add to, and what is read once."""

    home: Home
    result: VerifyResult
    check_usability: bool = True

    def add(self, check: str, target: str, problem: str, code: str = "") -> None:
        self.result.findings.append(Finding(check, target, problem, code))

    @cached_property
    def audit_rows(self) -> list:
        return self.home.db.execute("SELECT * FROM audit ORDER BY id").fetchall()

    @cached_property
    def seals(self) -> dict[str, str]:
        """doc_id -> the last seal the audit log holds for it."""
        out: dict[str, str] = {}
        for row in self.audit_rows:
            if row["action"] == SEAL_ACTION and row["detail"]:
                out.update(_json(row["detail"]).get("seals", {}))
        return out

    @cached_property
    def registrations(self) -> dict[str, str]:
        """output path -> the digest its last registration in the audit log gave."""
        out: dict[str, str] = {}
        for row in self.audit_rows:
            if row["action"] == OUTPUT_ACTION and row["target"]:
                out[row["target"]] = _json(row["detail"]).get("sha256", "")
        return out

    @cached_property
    def document_paths(self) -> set[str]:
        columns = ", ".join(FILE_COLUMNS)
        return {row[c] for row in self.home.db.execute(f"SELECT {columns} FROM documents") for c in FILE_COLUMNS
                if row[c]}

    @cached_property
    def output_paths(self) -> set[str]:
        return {row[0] for row in self.home.db.execute("SELECT path FROM outputs")}

    @cached_property
    def quarantine_paths(self) -> set[str]:
        return {row[0] for row in self.home.db.execute(
            "SELECT quarantine_path FROM scans WHERE quarantine_path IS NOT NULL")}


def _json(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _failure_kinds() -> list[tuple[type[BaseException] | tuple[type[BaseException], ...], str]]:
    """Exception classes opening a file may raise, most specific first, each with what it means."""
    import pypdf.errors
    from PIL import Image, UnidentifiedImageError

    return [
        (json.JSONDecodeError, "JSON 格式错误"),
        (UnicodeDecodeError, "文字编码不是 UTF-8"),
        (pypdf.errors.FileNotDecryptedError, "PDF 已加密"),
        (pypdf.errors.PdfStreamError, "PDF 内容流损坏"),
        (pypdf.errors.PdfReadError, "PDF 结构损坏"),
        (pypdf.errors.PyPdfError, "PDF 无法解析"),
        (zipfile.BadZipFile, "文件已损坏，不是完整的 Office 文档"),
        (zipfile.LargeZipFile, "Office 文档过大"),
        (Image.DecompressionBombError, "图片像素过多，可能是恶意文件"),
        (UnidentifiedImageError, "无法识别的图片格式"),
        (SyntaxError, "图片数据损坏"),  # Pillow's verify() reports a broken PNG or JPEG this way
        (EOFError, "文件不完整（被截断）"),
        (PermissionError, "没有读取权限"),
        (FileNotFoundError, "文件不存在"),
        (IsADirectoryError, "这是一个文件夹，不是文件"),
        (MemoryError, "文件过大，内存不足"),
        (OSError, "读取出错，文件可能已损坏或被截断"),
        (RecursionError, "文件结构嵌套过深，可能已损坏"),
        ((ValueError, TypeError, KeyError, IndexError, AttributeError, AssertionError), "文件内容格式错误"),
    ]


def _describe_failure(exc: BaseException) -> str:
    """A Chinese description of why a file could not be opened (never a Python class name)."""
    for kinds, text in _failure_kinds():
        if isinstance(exc, kinds):
            return text
    return "文件已损坏，无法读取"


def _usable(path: Path) -> str | None:
    """Why the file cannot be used, or None."""
    suffix = path.suffix.lower()
    if suffix not in OPEN_FORMATS:
        return f"不是开放格式（{suffix}）"
    try:
        if suffix == ".pdf":
            import pypdf

            reader = pypdf.PdfReader(str(path))
            if reader.is_encrypted:
                return "PDF 已加密"
            if len(reader.pages) == 0:
                return "PDF 没有页面"
        elif suffix in (".docx", ".xlsx"):
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
                if bad:
                    return f"文件内部损坏（{bad}）"
                needed = "word/document.xml" if suffix == ".docx" else "xl/workbook.xml"
                if needed not in archive.namelist():
                    return "不是有效的 Office Open XML 文件"
        elif suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        else:
            from PIL import Image

            with Image.open(path) as image:
                image.verify()
    except Exception as exc:  # any failure to open is the finding
        return f"无法打开（{_describe_failure(exc)}）"
    return None


# --- the checks ---------------------------------------------------------------------------------

def check_document_files(ctx: Context) -> None:
    """Every file of every document: present, digest as registered, usable."""
    home, result = ctx.home, ctx.result
    recorded = {(row["doc_id"], row["kind"]): row for row in home.db.execute("SELECT * FROM files")}
    documents = home.db.execute(f"SELECT doc_id, {', '.join(FILE_COLUMNS)} FROM documents").fetchall()
    result.documents = len(documents)
    for doc in documents:
        for column in FILE_COLUMNS:
            relative = doc[column]
            if not relative or (column == "pdf_path" and relative == doc["original_path"]):
                continue
            path = home.root / relative
            result.files += 1
            if not path.exists():
                ctx.add("完整性", relative, "文件缺失（目录中有记录，磁盘上找不到）", "file_missing")
                continue
            row = recorded.get((doc["doc_id"], column))
            if row is None:
                ctx.add("完整性", relative, "文件没有登记摘要值，无法验证真实性", "digest_unregistered")
            elif file_digest(path) != row["sha256"]:
                ctx.add("真实性", relative, "文件内容与登记的 SHA-256 摘要不一致，可能被修改", "digest_mismatch")
            if ctx.check_usability:
                problem = _usable(path)
                if problem:
                    ctx.add("可用性", relative, problem, "unusable")


def check_item_numbers(ctx: Context) -> None:
    """No gaps and no repeats in any 件号 sequence."""
    items = group_concat(ctx.home.db, "item_no", "','")
    for row in ctx.home.db.execute(
            f"""SELECT substr(archival_code, 1, length(archival_code) - 5) AS class, {items} AS items
               FROM documents WHERE archival_code IS NOT NULL GROUP BY substr(archival_code, 1, length(archival_code) - 5)"""):
        numbers = sorted(int(n) for n in row["items"].split(","))
        expected = list(range(1, numbers[-1] + 1))
        if numbers != expected:
            missing = sorted(set(expected) - set(numbers))
            repeated = sorted({n for n in numbers if numbers.count(n) > 1})
            detail = []
            if missing:
                detail.append("缺件号 " + "、".join(f"{n:04d}" for n in missing[:20]))
            if repeated:
                detail.append("重复件号 " + "、".join(f"{n:04d}" for n in repeated[:20]))
            ctx.add("完整性", row["class"], "；".join(detail), "item_gap")


def check_audit_chain(ctx: Context) -> None:
    """The audit log's hash chain: no row removed, altered, or re-chained without the key."""
    key = ctx.home.audit_key
    previous_hash, previous_id, keyed_seen, missing_key_reported = "", 0, False, False
    for row in ctx.audit_rows:
        ctx.result.audit_rows += 1
        label = f"操作日志第{row['id']}条"
        if row["id"] != previous_id + 1:
            ctx.add("安全性", f"操作日志第{previous_id + 1}条",
                    f"日志记录缺失（第{previous_id + 1}至{row['id'] - 1}条被删除）", "audit_row_missing")
        if (row["prev_hash"] or "") != previous_hash:
            ctx.add("安全性", label, "与上一条记录的链接断开（日志被删除或篡改）", "audit_chain_broken")
        stored = row["hash"] or ""
        fields = (row["prev_hash"] or "", row["at"], row["operator"], row["action"], row["target"], row["detail"])
        if stored.startswith(HMAC_PREFIX):
            keyed_seen = True
            if key is None:
                if not missing_key_reported:
                    ctx.add("安全性", label, "操作日志用密钥保护，但没有配置密钥（环境变量 ARCHIVE_AUDIT_KEY_FILE），"
                            "无法验证", "audit_key_missing")
                    missing_key_reported = True
            elif stored != audit_hash(*fields, key=key):
                ctx.add("安全性", label, f"内容被修改，或不是用本档案库的密钥写入（{row['at']} {row['operator']} "
                        f"{row['action']}）", "audit_row_altered")
        elif keyed_seen:
            ctx.add("安全性", label, "启用密钥之后出现了没有密钥保护的记录（日志被改写）", "audit_row_altered")
        elif stored != audit_hash(*fields):
            ctx.add("安全性", label, f"内容被修改（{row['at']} {row['operator']} {row['action']}）", "audit_row_altered")
        previous_hash, previous_id = stored, row["id"]


def check_seals(ctx: Context) -> None:
    """Each document's record matches the last seal in the audit log; no sealed document vanished."""
    current = all_record_digests(ctx.home.db)
    for doc_id in sorted(current):
        sealed = ctx.seals.get(doc_id)
        if sealed is None:
            ctx.add("真实性", f"文书 {doc_id}", "文书记录没有封存摘要（不是由本系统写入，或操作日志中的封存记录被删除）",
                    "record_unsealed")
        elif current[doc_id] != sealed:
            ctx.add("真实性", f"文书 {doc_id}", "文书记录与操作日志中的封存摘要不一致：所属家庭、类型、文号、题名、正文、"
                    "档号、盒号、日期、作废状态或文件摘要在目录数据库中被直接修改", "record_altered")
    for doc_id in sorted(set(ctx.seals) - set(current)):
        ctx.add("完整性", f"文书 {doc_id}", "操作日志中封存过的文书记录在目录数据库中不存在（被删除）", "record_deleted")


def check_outputs(ctx: Context) -> None:
    """Every registered output (归档文件目录, 卷内目录, 盒脊与备考表, 完整性报告, …): present, as registered."""
    rows = ctx.home.db.execute("SELECT * FROM outputs ORDER BY path").fetchall()
    ctx.result.outputs = len(rows)
    for row in rows:
        relative, path = row["path"], ctx.home.root / row["path"]
        if not path.is_file():
            ctx.add("完整性", relative, f"{row['kind']}缺失（已登记，磁盘上找不到）", "output_missing")
            continue
        registered = ctx.registrations.get(relative)
        if registered is None:
            ctx.add("安全性", relative, f"{row['kind']}的登记在操作日志中没有记录（登记被伪造或日志被删除）",
                    "output_unregistered")
        elif registered != row["sha256"]:
            ctx.add("真实性", relative, f"{row['kind']}登记的摘要值与操作日志中的不一致（登记被修改）", "output_record_altered")
        if file_digest(path) != row["sha256"]:
            ctx.add("真实性", relative, f"{row['kind']}内容与登记的 SHA-256 摘要不一致，被替换或损坏", "output_altered")
        if ctx.check_usability:
            problem = _usable(path)
            if problem:
                ctx.add("可用性", relative, problem, "unusable")
    for relative in sorted(set(ctx.registrations) - {row["path"] for row in rows}):
        ctx.add("完整性", relative, "操作日志中登记过的归档目录或报表在目录数据库中没有登记（登记被删除）", "output_record_deleted")


def _anchor_of(path: Path) -> tuple[int, str] | None:
    try:
        if path.suffix.lower() == ".pdf":
            import pypdf

            return parse_anchor(str((pypdf.PdfReader(str(path)).metadata or {}).get("/Subject", "")))
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        try:
            return parse_anchor(book.properties.subject or "")
        finally:
            book.close()
    except Exception:  # an unreadable catalogue is reported by check_outputs / check_folders
        return None


def check_anchors(ctx: Context) -> None:
    """The audit heads printed in the months' 归档文件目录 are still in the audit log, unchanged."""
    by_id = {row["id"]: row["hash"] or "" for row in ctx.audit_rows}
    last_id = max(by_id, default=0)
    for path in sorted(ctx.home.documents_dir.glob("*/_归档/*/归档文件目录-*")):
        if not path.is_file() or path.suffix.lower() not in (".pdf", ".xlsx"):
            continue
        anchor = _anchor_of(path)
        if anchor is None:
            continue
        ctx.result.anchors += 1
        number, digest = anchor
        relative = str(path.relative_to(ctx.home.root))
        if number not in by_id:
            ctx.add("安全性", relative, f"目录中记载的操作日志第{number}条已不存在（现有 {last_id} 条）：操作日志被截断，"
                    "或目录数据库被回滚到较早的副本", "anchor_missing")
        elif by_id[number] != digest:
            ctx.add("安全性", relative, f"操作日志第{number}条的校验值与目录中记载的不一致：操作日志被改写（重新计算过哈希链）",
                    "anchor_mismatch")


def check_folders(ctx: Context) -> None:
    """Every file under the data folders is registered: unknown files and temporary leftovers are reported."""
    root = ctx.home.root
    known = ctx.document_paths | ctx.output_paths | ctx.quarantine_paths
    known |= {p + REASON_SUFFIX for p in ctx.quarantine_paths}
    for folder in DATA_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for directory, subdirs, names in os.walk(base):
            for name in sorted(names + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]):
                path = Path(directory) / name
                relative = str(path.relative_to(root))
                if path.is_symlink():
                    ctx.add("完整性", relative, "档案库中有符号链接（不应有链接，可能指向库外的文件）", "symlink")
                elif _TEMP.search(name):
                    ctx.add("完整性", relative, "写入中断留下的临时文件（再次运行原命令可修复，或核对后删除）", "temp_file")
                elif relative in known:
                    continue
                elif folder == "quarantine":
                    ctx.add("完整性", relative, "隔离区中有未登记的文件（扫描件登记表中没有它的记录）", "unknown_file")
                else:
                    ctx.add("完整性", relative, "档案库中有未登记的文件（不是由本系统写入，或它的登记被删除）", "unknown_file")


def check_quarantine(ctx: Context) -> None:
    """Every quarantined original is still there, unchanged."""
    for row in ctx.home.db.execute(
            "SELECT sha256, source_name, quarantine_path FROM scans WHERE status='quarantined' AND quarantine_path IS NOT NULL"):
        path = ctx.home.root / row["quarantine_path"]
        if not path.is_file():
            ctx.add("完整性", row["quarantine_path"], f"隔离的原件（{row['source_name']}）被删除", "quarantine_missing")
        elif file_digest(path) != row["sha256"]:
            ctx.add("真实性", row["quarantine_path"], f"隔离的原件（{row['source_name']}）内容被修改", "quarantine_altered")


def check_scan_registry(ctx: Context) -> None:
    """Every filed scan is in the duplicate registry, so the same file is never registered twice."""
    registry = {row["sha256"]: row["doc_id"] for row in ctx.home.db.execute("SELECT sha256, doc_id FROM scans")}
    for row in ctx.home.db.execute(
            "SELECT doc_id, scan_sha256, original_path FROM documents WHERE origin='scan' AND scan_sha256 IS NOT NULL"):
        if registry.get(row["scan_sha256"]) != row["doc_id"]:
            ctx.add("完整性", row["original_path"] or f"文书 {row['doc_id']}",
                    "扫描件登记表（防止重复登记）中没有这份扫描件的记录：同一文件再次放入收件箱会被重复登记", "scan_unregistered")


def check_signatures(ctx: Context) -> None:
    """Every digital signature of every signed document, originals and 归档 copies."""
    from archive.signing.validate import signature_findings

    for target, problem in signature_findings(ctx.home):
        ctx.add("真实性", target, problem, "signature")


def check_late_documents(ctx: Context) -> None:
    """Documents of a closed month that arrived after it was filed: the month must be reopened."""
    from archive.filing.late import late_documents

    for late in late_documents(ctx.home.db):
        ctx.add("完整性", late.month, late.message, "late_documents")


PRIVATE_FOLDERS = (*DATA_FOLDERS, "index")  # hold personal data; the scanner's inbox (scans/) is not checked
MAX_LOOSE_LISTED = 20  # loosened paths reported one by one; the rest as one count


def check_permissions(ctx: Context) -> None:
    """The home, its catalog and every folder and file under the data folders are private to their
    owner (0700 / 0600, as the README promises): any group or other access is reported. Skipped on
    Windows, where POSIX modes mean nothing."""
    if os.name == "nt":
        return
    root = ctx.home.root
    loose: list[tuple[Path, bool]] = []

    def look(path: Path) -> None:
        try:
            mode = path.lstat().st_mode
        except OSError:
            return  # gone or unreadable: other checks report it
        if stat.S_ISLNK(mode):
            return  # check_folders reports symlinks
        if mode & 0o077:
            loose.append((path, stat.S_ISDIR(mode)))

    look(root)
    for name in (CATALOG_NAME, CATALOG_NAME + "-wal", CATALOG_NAME + "-shm", CONFIG_NAME):
        if (root / name).exists():
            look(root / name)
    for folder in PRIVATE_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        look(base)
        for directory, subdirs, names in os.walk(base):
            for name in sorted(subdirs + names):
                look(Path(directory) / name)
    hint = f"请运行 chmod -R go-rwx {root} 收回其他用户的权限"
    for path, is_dir in loose[:MAX_LOOSE_LISTED]:
        relative = str(path.relative_to(root)) if path != root else str(root)
        what = "文件夹" if is_dir else "文件"
        ctx.add("安全性", relative, f"{what}的权限过宽，同组或其他用户可以访问（应只有本人可访问）；{hint}",
                "loose_permissions")
    if len(loose) > MAX_LOOSE_LISTED:
        ctx.add("安全性", str(root), f"另有 {len(loose) - MAX_LOOSE_LISTED} 个文件或文件夹的权限过宽；{hint}",
                "loose_permissions")


CHECKS: list[Callable[[Context], None]] = [
    check_document_files,
    check_item_numbers,
    check_signatures,
    check_audit_chain,
    check_seals,
    check_outputs,
    check_anchors,
    check_folders,
    check_quarantine,
    check_scan_registry,
    check_late_documents,
    check_permissions,
]


# what each check looks at, in Chinese (the report lists every check with 通过 / 未通过)
CHECK_TITLES: dict[str, tuple[str, str]] = {
    "check_document_files": ("真实性", "文书文件齐全、与登记的 SHA-256 一致、能够打开"),
    "check_item_numbers": ("完整性", "件号连续，没有空号和重号"),
    "check_signatures": ("真实性", "数字签名文书的原件和归档件签名有效"),
    "check_audit_chain": ("安全性", "操作日志的哈希链完整，没有删改"),
    "check_seals": ("真实性", "文书的目录记录与封存记录一致"),
    "check_outputs": ("真实性", "归档文件目录、卷内目录、盒脊与备考表等与登记一致"),
    "check_anchors": ("安全性", "归档文件目录上印的操作日志校验值仍与日志一致"),
    "check_folders": ("完整性", "数据文件夹中没有未登记的文件和残留的临时文件"),
    "check_quarantine": ("完整性", "隔离区中的原件仍在、未被改动"),
    "check_scan_registry": ("完整性", "扫描件登记表完整（同一文件不会重复登记）"),
    "check_late_documents": ("完整性", "已归档月份之后没有新增未归档的文书"),
    "check_permissions": ("安全性", "档案库文件只有本人可以访问"),
}


@dataclass
class CheckOutcome:
    name: str
    category: str      # 真实性 / 完整性 / 可用性 / 安全性
    title: str         # what it checks, in Chinese
    findings: int

    @property
    def passed(self) -> bool:
        return self.findings == 0

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "passed": self.passed}


def verify(home: Home, check_usability: bool = True,
           progress: Callable[[int, int, str], None] | None = None) -> VerifyResult:
    """Run every check; `progress(done, total, title)` before each. `result.checks` says how
    each check came out."""
    started = time.perf_counter()
    result = VerifyResult()
    context = Context(home, result, check_usability)
    for done, check in enumerate(CHECKS):
        category, title = CHECK_TITLES.get(check.__name__, ("", check.__name__))
        if progress is not None:
            progress(done, len(CHECKS), f"【{category}】{title}")
        before = len(result.findings)
        check(context)
        result.checks.append(CheckOutcome(check.__name__, category, title, len(result.findings) - before))
    result.seconds = time.perf_counter() - started
    return result


REPORT_HEADER = ["类别", "检测项目", "结果", "说明"]


def report_files(data: dict, title: str) -> tuple[bytes, bytes]:
    """The 四性检测 report (PDF and XLSX) from a result's JSON (`to_json()` with `checks`): every
    check with 通过 / 未通过, then every problem found."""
    from archive.filing.catalogue import table_report

    rows: list[list[object]] = []
    for check in data.get("checks", []):
        rows.append([check["category"], check["title"], "通过" if check["passed"] else "未通过",
                     "" if check["passed"] else f"发现 {check['findings']} 个问题"])
    for finding in data.get("findings", []):
        rows.append([finding["check"], finding["target"], "问题", finding["problem"]])
    summary = "检测通过" if data.get("ok") else f"发现 {len(data.get('findings', []))} 个问题"
    return table_report(f"{title}（{summary}）", REPORT_HEADER, rows, [22, 90, 22, 130])
