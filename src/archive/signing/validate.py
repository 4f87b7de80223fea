"""Check every digital signature in a PDF: intact, covering what it should, and made with a trusted
certificate. The rules and their Chinese messages live here; the CLI and `archive verify` only
print what this module decides.

Per signature, in this order (the first that applies is its status):

- 未通过          the signed bytes do not match the signature (altered, digest mismatch, unreadable);
- 签名后有修改    a later incremental revision changes the document beyond what is allowed after
                  signing: further signatures (each checked on its own), time-stamps and validation
                  data, and the archive's own 归档章 (see `archive.signing.stampdiff`);
- 无法确认签名人  the certificate is neither registered in the archive home (matched by SHA-256
                  fingerprint of the whole certificate, never by name) nor issued under a configured
                  trust root (`signing.trust_roots` in config.yaml);
- 通过            none of the above.

The file passes only when it has at least one signature and every signature is 通过.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from archive.errors import ArchiveError, ExitCode, NotFoundError, error_text

PASSED = "通过"
ALTERED = "未通过"
UNTRUSTED = "无法确认签名人"
MODIFIED = "签名后有修改"
UNSIGNED = "没有数字签名"
UNREADABLE = "文件无法读取"

# the overall status of a file is its worst signature's status, in this order
SEVERITY = [UNREADABLE, ALTERED, MODIFIED, UNTRUSTED, UNSIGNED, PASSED]

# exit codes of `archive verify-signature`
EXIT_PASSED = ExitCode.OK
EXIT_PROBLEM = ExitCode.PROBLEMS  # a signature failed, the file has none, or it cannot be read


@dataclass
class Trust:
    """What the archive home trusts: registered certificates by fingerprint, and trust roots."""

    fingerprints: dict[str, str] = field(default_factory=dict)   # sha256 hex -> signer name
    roots: list = field(default_factory=list)                    # asn1crypto x509.Certificate


def fingerprint(cert) -> str:
    """SHA-256 of the certificate's DER encoding, hex (asn1crypto or cryptography certificate)."""
    der = cert.dump() if hasattr(cert, "dump") else cert.public_bytes(_der_encoding())
    return hashlib.sha256(der).hexdigest()


def _der_encoding():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def load_certificate_file(path: Path):
    """A PEM or DER certificate file as an asn1crypto certificate, or a Chinese error."""
    from asn1crypto import pem, x509

    if not path.is_file():
        raise ArchiveError(f"信任根证书文件不存在：{path}", hint="请检查 config.yaml 中 signing.trust_roots 的路径")
    data = path.read_bytes()
    try:
        if pem.detect(data):
            _, _, data = pem.unarmor(data)
        cert = x509.Certificate.load(data)
        cert.native  # parse now: a broken file fails here, not during validation  # noqa: B018
        return cert
    except Exception:
        raise ArchiveError(f"信任根证书文件 {path.name} 无法读取（应为 PEM 或 DER 格式的 X.509 证书）") from None


def trust_of(home) -> Trust:
    """The home's registered signer certificates and configured trust roots."""
    trust = Trust()
    for row in home.db.execute("SELECT name, cert_file FROM signers WHERE cert_file IS NOT NULL"):
        public = (home.root / row["cert_file"]).with_suffix(".pem")
        if public.exists():
            trust.fingerprints[fingerprint(load_certificate_file(public))] = row["name"]
            for kept in sorted(public.parent.glob(f"{public.stem}-已更换-*.pem")):  # renewed: earlier ones stay trusted
                trust.fingerprints.setdefault(fingerprint(load_certificate_file(kept)), f"{row['name']}，已更换的证书")
    for entry in (getattr(home.config, "signing", None) or {}).get("trust_roots", []) or []:
        path = Path(entry)
        trust.roots.append(load_certificate_file(path if path.is_absolute() else home.root / path))
    return trust


@dataclass
class SignatureCheck:
    field: str
    status: str = ALTERED
    message: str = ""
    signer: str = ""
    fingerprint: str = ""
    signing_time: str = ""
    reason: str = ""
    intact: bool = False
    trusted: bool = False
    trusted_by: str = ""        # 已登记证书 / 信任根 / ""
    coverage: str = ""          # 整个文件 / 签名后加盖归档章 / 签名后追加签名或验证数据 / 签名后有修改
    timestamp: str = ""         # time from the RFC 3161 time-stamp, if any
    timestamp_trusted: bool = False
    validation_data: bool = False   # certificates/CRLs/OCSP embedded (PAdES B-LT)
    level: str = "B-B"

    @property
    def ok(self) -> bool:
        return self.status == PASSED


@dataclass
class FileCheck:
    file: str
    status: str = UNSIGNED
    message: str = ""
    signatures: list[SignatureCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == PASSED

    @property
    def exit_code(self) -> int:
        return EXIT_PASSED if self.ok else EXIT_PROBLEM

    def to_json(self) -> dict:
        return {"file": self.file, "ok": self.ok, "status": self.status, "message": self.message,
                "signatures": [{**asdict(s), "ok": s.ok} for s in self.signatures]}

    def report_zh(self) -> str:
        lines = [f"{self.status}：{self.message}"]
        for number, sig in enumerate(self.signatures, 1):
            lines.append(f"  第{number}个签名（{sig.field}）：{sig.status}。{sig.message}")
            if sig.signer:
                lines.append(f"    签名人：{sig.signer}")
                lines.append(f"    证书指纹（SHA-256）：{sig.fingerprint}")
            if sig.signing_time:
                lines.append(f"    签名时间：{sig.signing_time}" + (f"（时间戳：{sig.timestamp}）" if sig.timestamp else ""))
            if sig.reason:
                lines.append(f"    签名事由：{sig.reason}")
            if sig.coverage:
                lines.append(f"    覆盖范围：{sig.coverage}")

        return "\n".join(lines)


def _quiet() -> None:
    # pyHanko logs untrusted chains and suspicious revisions with tracebacks; the report says it in Chinese
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _validation_context(trust: Trust, reader, moment=None):
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    kwargs = {"trust_roots": list(trust.roots), "allow_fetching": False, "retroactive_revinfo": True}
    if moment is not None:
        kwargs["moment"] = moment
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # no DSS, or an unreadable one: validate without it
        return ValidationContext(**kwargs), False
    has_revinfo = bool(dss.ocsps or dss.crls)
    return dss.as_validation_context(kwargs), has_revinfo


def _timestamp_time(embedded):
    """genTime of the signature's RFC 3161 time-stamp token, if it carries one."""
    try:
        data = embedded.attached_timestamp_data
        if data is None:
            return None
        from asn1crypto import tsp

        info = data["encap_content_info"]["content"].parsed
        if not isinstance(info, tsp.TSTInfo):
            info = tsp.TSTInfo.load(data["encap_content_info"]["content"].native)
        return info["gen_time"].native
    except Exception:
        return None


def _coverage(status, signature_fields: set[str]) -> tuple[str, bool]:
    """(description, allowed) of what changed after this signature."""
    from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "整个文件", True
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return "签名只覆盖文件的一部分", False
    diff = status.diff_result
    if diff is None or isinstance(diff, SuspiciousModification) or status.docmdp_ok is False:
        return "签名后有修改", False
    level = diff.modification_level
    if level == ModificationLevel.LTA_UPDATES:
        return "签名后追加了时间戳或验证数据", True
    if level == ModificationLevel.FORM_FILLING and set(diff.changed_form_fields) <= signature_fields:
        return "签名后追加了其他签名", True
    if level == ModificationLevel.ANNOTATIONS and set(diff.changed_form_fields) <= signature_fields:
        # only archival-stamp rule clears at this level (archive.signing.stampdiff)
        return "签名后加盖了归档章", True
    return "签名后有修改", False


def _check_one(embedded, reader, trust: Trust, signature_fields: set[str]) -> SignatureCheck:
    from pyhanko.sign.validation import validate_pdf_signature

    from archive.signing.stampdiff import ARCHIVE_DIFF_POLICY

    check = SignatureCheck(field=str(embedded.field_name or ""))
    check.reason = str(embedded.sig_object.get("/Reason", ""))
    try:
        cert = embedded.signer_cert
        check.signer = cert.subject.human_friendly
        check.fingerprint = fingerprint(cert)
    except Exception:
        check.message = "签名数据无法解析"
        return check
    moment = _timestamp_time(embedded)
    context, has_revinfo = _validation_context(trust, reader, moment)
    try:
        status = validate_pdf_signature(embedded, context, diff_policy=ARCHIVE_DIFF_POLICY)
    except Exception as exc:  # a malformed signature is a failed one
        check.message = f"签名无法验证（{error_text(exc)}）"
        return check
    check.intact = bool(status.intact and status.valid)
    when = status.signer_reported_dt
    check.signing_time = when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else ""
    ts = status.timestamp_validity
    if ts is not None:
        check.timestamp = ts.timestamp.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        check.timestamp_trusted = bool(ts.intact and ts.valid and ts.trusted)
        check.level = "B-T"
    check.validation_data = has_revinfo
    if check.level == "B-T" and has_revinfo:
        check.level = "B-LT"
    revoked = bool(status.revoked)
    if revoked:
        pass  # a revoked certificate is trusted by nothing, registered or not
    elif check.fingerprint in trust.fingerprints:
        check.trusted, check.trusted_by = True, f"已登记证书（{trust.fingerprints[check.fingerprint]}）"
    elif status.trusted:
        check.trusted, check.trusted_by = True, "信任根"
    check.coverage, allowed = _coverage(status, signature_fields)
    if not check.intact:
        check.status = ALTERED
        check.message = "文件在签名后被修改：签名范围内的内容与签名不符（摘要不一致）"
    elif not allowed:
        check.status = MODIFIED
        check.message = "签名本身完好，但签名之后文件又被追加修改过，当前内容不是签名时的内容"
    elif revoked:
        check.status = UNTRUSTED
        check.message = "签名完好，但签名证书已被吊销（依据文件中或配置的吊销信息）"
    elif not check.trusted:
        check.status = UNTRUSTED
        check.message = ("签名完好，但签名证书既不是本档案库登记的签章人证书（按指纹比对），"
                         "也不由配置的信任根签发；证书上的姓名不能证明签名人身份")
    elif ts is not None and not check.timestamp_trusted:
        check.status = UNTRUSTED
        check.message = "签名完好、证书可信，但时间戳无效或时间戳服务的证书不可信"
    else:
        check.status = PASSED
        check.message = f"签名完好，证书可信（{check.trusted_by}）"
        if check.coverage != "整个文件":
            check.message += f"；{check.coverage}"
    return check


def check_pdf(path: Path, trust: Trust | None = None) -> FileCheck:
    """Check every signature in `path` against `trust` (nothing trusted when None)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    _quiet()
    trust = trust or Trust()
    if not path.is_file():
        raise NotFoundError(f"文件不存在：{path}")
    result = FileCheck(str(path))
    try:
        with open(path, "rb") as handle:
            if b"%PDF-" not in handle.read(1024):  # the header may follow a little junk (PDF 32000 annex H)
                result.status = UNREADABLE
                result.message = "不是 PDF 文件（文件开头没有 %PDF 标记）"
                return result
            handle.seek(0)
            reader = PdfFileReader(handle, strict=False)
            signatures = reader.embedded_regular_signatures
            fields = {str(s.field_name) for s in signatures}
            result.signatures = [_check_one(s, reader, trust, fields) for s in signatures]
    except Exception as exc:  # hostile input: any failure to read is the finding
        result.status = UNREADABLE
        result.message = f"文件已损坏，无法读取签名（{error_text(exc)}）"
        return result
    if not result.signatures:
        result.status, result.message = UNSIGNED, "文件中没有数字签名"
        return result
    result.status = min((s.status for s in result.signatures), key=SEVERITY.index)
    bad = [n for n, s in enumerate(result.signatures, 1) if not s.ok]
    count = len(result.signatures)
    if not bad:
        result.message = f"全部 {count} 个签名完好、证书可信，签名后没有不允许的修改"
    else:
        problems = "；".join(f"第{n}个签名{result.signatures[n - 1].status}" for n in bad)
        result.message = f"{count} 个签名中 {len(bad)} 个未通过检查：{problems}"
    return result


def _may_be_signed(path: Path) -> bool:
    """Cheap first look: a PDF with a signature names /ByteRange or a /Sig field in plain bytes."""
    from archive.signing.copies import has_signature_fields

    with open(path, "rb") as handle:
        data = handle.read()
    return (b"/ByteRange" in data or b"/Sig" in data) and has_signature_fields(path)


def _copy_of(copy: Path, original: Path) -> bool:
    """True when `copy` records (in its document information) the SHA-256 of `original`."""
    import pypdf

    from archive.catalog import file_digest
    from archive.filing.stamp import SIGNED_ORIGINAL_KEY

    try:
        recorded = (pypdf.PdfReader(str(copy)).metadata or {}).get(SIGNED_ORIGINAL_KEY)
        return original.is_file() and recorded == file_digest(original)
    except Exception:
        return False


def signature_findings(home) -> list[tuple[str, str]]:
    """(file, problem) for every signed PDF of the home whose signatures do not all pass: the
    digitally signed originals (signature_kind 'pades') and their 归档 copies in full; any other
    stored PDF that carries a signature field (a scan signed by a third party) for integrity only
    (未通过, 签名后有修改). Missing files are left to the caller's completeness check."""
    trust = trust_of(home)
    findings: list[tuple[str, str]] = []
    rows = home.db.execute("SELECT doc_id, signature_kind, pdf_path, original_path, stamped_path FROM documents")
    for row in rows.fetchall():
        for relative in dict.fromkeys(r for r in (row["pdf_path"], row["original_path"], row["stamped_path"]) if r):
            path = home.root / relative
            if path.suffix.lower() != ".pdf" or not path.is_file():
                continue
            declared = row["signature_kind"] == "pades" and relative != row["original_path"]
            if not declared and not _may_be_signed(path):
                continue
            result = check_pdf(path, trust)
            if not declared and result.status == UNTRUSTED:
                continue  # a third party's signature on a scan: intact, just not one the home vouches for
            if result.status == UNSIGNED and relative == row["stamped_path"] and _copy_of(path, home.root / row["pdf_path"]):
                continue  # the 归档 copy made without the signature field, naming its signed original
            if result.status == UNSIGNED:
                findings.append((relative, "登记为数字签名的文书，文件中却没有数字签名"))
            elif not result.ok:
                findings.append((relative, f"数字签名{result.status}：{result.message}"))
    return findings
