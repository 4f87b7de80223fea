"""PAdES signatures with pyHanko: sign a generated PDF (checking is archive.signing.validate)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from archive.errors import ArchiveError
from archive.signing.keys import PASSWORD_ENV


def sign_pdf(pdf: bytes, p12: Path, *, name: str, reason: str, location: str,
             tsa_url: str | None = None, trust_roots: list | None = None) -> bytes:
    """PAdES B-B; with `tsa_url` (RFC 3161), B-T with the certificates, CRLs and OCSP responses
    needed to check it later embedded in the document security store (B-LT)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    password = os.environ.get(PASSWORD_ENV)
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=password.encode("utf-8") if password else None)
    if signer is None:
        raise ArchiveError(f"无法用证书 {p12.name} 签名（密码不正确或文件损坏）")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if not tsa_url:
        meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES,
                                            reason=reason, location=location, name=name)
        return signers.sign_pdf(writer, meta, signer=signer).getvalue()
    return _sign_long_term(writer, signer, name=name, reason=reason, location=location, tsa_url=tsa_url,
                           trust_roots=trust_roots or [])


def _sign_long_term(writer, signer, *, name: str, reason: str, location: str, tsa_url: str, trust_roots: list) -> bytes:
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko_certvalidator import ValidationContext

    # the signer's own certificate anchors a self-signed (registered) certificate; a CA-issued one
    # is validated up to a configured trust root, fetching its CRLs/OCSP once, now, to embed them
    own = signer.signing_cert
    anchors = list(trust_roots) + ([own] if own.self_signed != "no" else [])  # "yes" / "maybe" / "no"
    context = ValidationContext(trust_roots=anchors, allow_fetching=True, revocation_mode="soft-fail")
    meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES,
                                        reason=reason, location=location, name=name,
                                        embed_validation_info=True, validation_context=context)
    timestamper = timestamps.HTTPTimeStamper(tsa_url, timeout=30)
    try:
        return signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper).getvalue()
    except Exception as exc:  # network, TSA or chain problems: nothing is written, say what failed
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ArchiveError(f"带时间戳的签名失败（时间戳服务 {tsa_url}）：{detail}",
                           hint="请检查时间戳服务是否可访问、config.yaml 中 signing.trust_roots 是否包含签名证书和时间戳证书的根证书；"
                                "文书未生成") from None


def signing_options(home) -> dict:
    """sign_pdf's time-stamp options from the home's configuration (signing.tsa_url, trust_roots)."""
    from archive.signing.validate import trust_of

    settings = home.config.signing or {}
    if not settings.get("tsa_url"):
        return {}
    return {"tsa_url": settings["tsa_url"], "trust_roots": trust_of(home).roots}
