"""PAdES signatures with pyHanko: sign a generated PDF, and check a signed one."""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from archive.errors import ArchiveError
from archive.signing.keys import PASSWORD_ENV


def sign_pdf(pdf: bytes, p12: Path, *, name: str, reason: str, location: str) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    password = os.environ.get(PASSWORD_ENV)
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=password.encode("utf-8") if password else None)
    if signer is None:
        raise ArchiveError(f"无法用证书 {p12.name} 签名（密码不正确或文件损坏）")
    meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES,
                                        reason=reason, location=location, name=name)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return signers.sign_pdf(writer, meta, signer=signer).getvalue()


@dataclass
class SignatureReport:
    file: str
    signed: bool
    intact: bool = False
    covers_whole_file: bool = False
    trusted: bool = False
    signer: str = ""
    signing_time: str = ""
    reason: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.covers_whole_file

    def to_json(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def verify_signature(path: Path, trust_roots: list | None = None) -> SignatureReport:
    import logging

    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    # pyHanko logs untrusted (self-signed) chains with tracebacks; the report says it in Chinese
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    report = SignatureReport(str(path), signed=False)
    if not path.is_file():
        raise ArchiveError(f"文件不存在：{path}")
    try:
        with open(path, "rb") as handle:
            reader = PdfFileReader(handle, strict=False)
            signatures = reader.embedded_signatures
            if not signatures:
                report.message = "文件中没有数字签名"
                return report
            signature = signatures[-1]
            report.signed = True
            context = ValidationContext(trust_roots=trust_roots or [], allow_fetching=False)
            status = validate_pdf_signature(signature, context)
    except (PdfReadError, ValueError, OSError) as exc:
        report.message = f"文件已损坏，无法读取签名（{exc}）"
        return report
    report.intact = bool(status.intact and status.valid)
    report.covers_whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    report.trusted = bool(status.trusted)
    cert = status.signing_cert
    report.signer = cert.subject.human_friendly if cert is not None else ""
    when = status.signer_reported_dt
    report.signing_time = when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else ""
    report.reason = str(signature.sig_object.get("/Reason", ""))
    if not report.intact:
        report.message = "签名无效：文件在签名后被修改（签名范围内的内容已改变）"
    elif not report.covers_whole_file:
        report.message = "签名本身完好，但签名之后文件又被追加修改过，签名不覆盖当前的全部内容"
    elif not report.trusted:
        report.message = "签名完好、文件未被修改；签名证书不在本档案库登记的信任列表中"
    else:
        report.message = "签名完好、文件未被修改，签名证书可信"
    return report


def trust_roots_of(home) -> list:
    """The public certificates of the home's registered signers, as trust anchors."""
    from asn1crypto import pem, x509

    roots = []
    for row in home.db.execute("SELECT cert_file FROM signers WHERE cert_file IS NOT NULL"):
        public = (home.root / row[0]).with_suffix(".pem")
        if public.exists():
            _, _, der = pem.unarmor(public.read_bytes())
            roots.append(x509.Certificate.load(der))
    return roots
