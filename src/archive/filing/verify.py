"""四性检测 (DA/T 70-2018) over the whole archive home:

- 真实性 authenticity: every stored file's SHA-256 matches the catalog;
- 完整性 integrity: no file missing, every file recorded, no gap or repeat in any 件号 sequence;
- 可用性 usability: every file opens, in an open format, unencrypted;
- 安全性 security: the audit log's hash chain is unbroken (no row altered or removed).
"""

from __future__ import annotations

import json
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from archive.catalog import FILE_COLUMNS, audit_hash, file_digest
from archive.home import Home

OPEN_FORMATS = {".pdf", ".docx", ".xlsx", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".json"}


@dataclass
class Finding:
    check: str        # 真实性 / 完整性 / 可用性 / 安全性
    target: str       # file path, 档号 class, or audit row
    problem: str


@dataclass
class VerifyResult:
    files: int = 0
    documents: int = 0
    audit_rows: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> str:
        return json.dumps({"ok": self.ok, "files": self.files, "documents": self.documents,
                           "audit_rows": self.audit_rows, "seconds": round(self.seconds, 2),
                           "findings": [asdict(f) for f in self.findings]}, ensure_ascii=False)

    def report_zh(self) -> str:
        lines = [f"四性检测：{self.documents} 份文书、{self.files} 个文件、{self.audit_rows} 条操作日志，用时 {self.seconds:.1f} 秒。"]
        if self.ok:
            lines.append("真实性、完整性、可用性、安全性检测均通过。")
        else:
            lines.append(f"发现 {len(self.findings)} 个问题：")
            lines += [f"  【{f.check}】{f.target}：{f.problem}" for f in self.findings]
        return "\n".join(lines)


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
        return f"无法打开（{type(exc).__name__}）"
    return None


def verify(home: Home, check_usability: bool = True) -> VerifyResult:
    started = time.perf_counter()
    result = VerifyResult()
    add = lambda check, target, problem: result.findings.append(Finding(check, target, problem))  # noqa: E731
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
                add("完整性", relative, "文件缺失（目录中有记录，磁盘上找不到）")
                continue
            row = recorded.get((doc["doc_id"], column))
            if row is None:
                add("完整性", relative, "文件没有登记摘要值，无法验证真实性")
            elif file_digest(path) != row["sha256"]:
                add("真实性", relative, "文件内容与登记的 SHA-256 摘要不一致，可能被修改")
            if check_usability:
                problem = _usable(path)
                if problem:
                    add("可用性", relative, problem)
    # no gaps and no repeats in any 件号 sequence
    for row in home.db.execute(
            """SELECT substr(archival_code, 1, length(archival_code) - 5) AS class, group_concat(item_no) AS items
               FROM documents WHERE archival_code IS NOT NULL GROUP BY class"""):
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
            add("完整性", row["class"], "；".join(detail))
    # documents of a closed month that arrived after it was filed
    from archive.filing.late import late_documents

    for late in late_documents(home.db):
        add("完整性", late.month, late.message)
    # the audit log's hash chain
    previous_hash, previous_id = "", 0
    for row in home.db.execute("SELECT * FROM audit ORDER BY id"):
        result.audit_rows += 1
        if row["id"] != previous_id + 1:
            add("安全性", f"操作日志第{previous_id + 1}条", f"日志记录缺失（第{previous_id + 1}至{row['id'] - 1}条被删除）")
        if (row["prev_hash"] or "") != previous_hash:
            add("安全性", f"操作日志第{row['id']}条", "与上一条记录的链接断开（日志被删除或篡改）")
        expected = audit_hash(row["prev_hash"] or "", row["at"], row["operator"], row["action"], row["target"], row["detail"])
        if row["hash"] != expected:
            add("安全性", f"操作日志第{row['id']}条", f"内容被修改（{row['at']} {row['operator']} {row['action']}）")
        previous_hash, previous_id = row["hash"] or "", row["id"]
    result.seconds = time.perf_counter() - started
    return result
