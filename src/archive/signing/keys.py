"""The seal image, the approvers and their certificates, kept in the archive home's secure/."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from archive import files
from archive.catalog import audit, transaction
from archive.errors import ArchiveError, NotFoundError
from archive.home import Home

PASSWORD_ENV = "ARCHIVE_SIGN_PASSWORD"
SEAL_NAME = "seal.png"


def secure_dir(home: Home) -> Path:
    folder = home.root / "secure"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def check_seal_image(path: Path) -> None:
    """A red seal PNG with transparency, or a Chinese error."""
    if not path.is_file():
        raise NotFoundError(f"印章图片不存在：{path}")
    try:
        with Image.open(path) as image:
            image.load()
            if image.format != "PNG":
                raise ArchiveError(f"印章图片应为带透明背景的 PNG 文件，{path.name} 是 {image.format}")
            rgba = image.convert("RGBA")
    except ArchiveError:
        raise
    except Exception:
        raise ArchiveError(f"印章图片 {path.name} 无法打开（文件已损坏或不是图片）") from None
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[0] == 255:
        raise ArchiveError(f"印章图片 {path.name} 没有透明背景，盖在文字上会遮住文字；请用透明背景的 PNG")
    small = np.asarray(rgba.resize((64, 64))).reshape(-1, 4)
    pixels = [tuple(p) for p in small if p[3] > 128]
    if not pixels or sum(1 for r, g, b, _ in pixels if r > 150 and g < 110 and b < 110) < len(pixels) * 0.5:
        raise ArchiveError(f"印章图片 {path.name} 不是红色印章")


def set_seal(home: Home, image: Path) -> Path:
    check_seal_image(image)
    target = secure_dir(home) / SEAL_NAME
    files.copy_atomic(image, target)
    with transaction(home.db):
        audit(home.db, home.operator, "seal.set", None, {"source_name": image.name})
    return target


def seal_path(home: Home) -> Path:
    path = home.root / "secure" / SEAL_NAME
    if not path.exists():
        raise NotFoundError("还没有设置印章图片", hint="请先运行 archive seal set 印章.png")
    check_seal_image(path)
    return path


@dataclass
class Certificate:
    key: object
    cert: object
    chain: list
    subject: str
    not_after: dt.datetime


def load_certificate(path: Path, password: str | None) -> Certificate:
    """Open a PKCS#12 file; every problem is a Chinese error, and the password never leaves here."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    if not path.is_file():
        raise NotFoundError(f"证书文件不存在：{path}")
    if password is None:
        raise ArchiveError(f"证书 {path.name} 需要密码", hint=f"请在环境变量 {PASSWORD_ENV} 中提供证书密码（不要写进配置文件）")
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(path.read_bytes(), password.encode("utf-8"))
    except ValueError as exc:
        if "password" in str(exc).lower() or "mac" in str(exc).lower():
            raise ArchiveError(f"证书 {path.name} 的密码不正确") from None
        raise ArchiveError(f"证书文件 {path.name} 无法读取（不是有效的 PKCS#12 文件）") from None
    if key is None or cert is None:
        raise ArchiveError(f"证书文件 {path.name} 中没有私钥或证书")
    now = dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc < now:
        raise ArchiveError(f"证书已于 {cert.not_valid_after_utc:%Y年%m月%d日} 过期，不能用于签名")
    if cert.not_valid_before_utc > now:
        raise ArchiveError(f"证书自 {cert.not_valid_before_utc:%Y年%m月%d日} 起才生效")
    return Certificate(key, cert, list(chain or []), cert.subject.rfc4514_string(), cert.not_valid_after_utc)


def list_signers(home: Home) -> list[dict]:
    """The approvers who can sign, with their certificate's subject, validity and SHA-256
    fingerprint (from the public copy; no password needed), and whether the seal is set."""
    from archive.signing.validate import fingerprint, load_certificate_file

    now = dt.datetime.now(dt.UTC)
    out = []
    for row in home.db.execute("SELECT * FROM signers ORDER BY name"):
        entry = {"name": row["name"], "role": row["role"], "signature": bool(row["signature_file"]),
                 "certificate": bool(row["cert_file"]), "subject": row["cert_subject"],
                 "not_after": row["cert_not_after"], "fingerprint": None, "expired": False, "replaced": 0}
        if row["cert_file"]:
            public = (home.root / row["cert_file"]).with_suffix(".pem")
            if public.exists():
                try:
                    entry["fingerprint"] = fingerprint(load_certificate_file(public))
                except Exception:  # an unreadable public copy: shown without its fingerprint
                    entry["fingerprint"] = None
                entry["replaced"] = len(list(public.parent.glob(f"{public.stem}{REPLACED_CERT_MARK}*.pem")))
            if row["cert_not_after"]:
                entry["expired"] = dt.datetime.fromisoformat(row["cert_not_after"]) < now
        out.append(entry)
    return out


def has_seal(home: Home) -> bool:
    return (home.root / "secure" / SEAL_NAME).exists()


def add_signer(home: Home, name: str, role: str, signature: Path | None = None, cert: Path | None = None,
               password: str | None = None) -> dict:
    """Register (or update) an approver. A certificate is opened with `password` (else the
    environment's ARCHIVE_SIGN_PASSWORD) only to check it and keep its public part: the password
    is never stored; signing asks for it again."""
    name, role = name.strip(), role.strip()
    if not name or not role:
        raise ArchiveError("签章人的姓名和职务不能为空")
    if signature is not None:
        try:
            with Image.open(signature) as image:
                image.load()
        except Exception:
            raise ArchiveError(f"签名图片 {signature} 不存在或无法打开") from None
    if cert is not None and password is None:
        password = os.environ.get(PASSWORD_ENV)
    certificate = load_certificate(cert, password) if cert is not None else None
    secure_dir(home)  # created with 0700 before anything goes into it
    safe = "".join(c for c in name if c.isalnum()) or "signer"
    signature_file = cert_file = None
    if signature is not None:
        signature_file = f"secure/signature-{safe}{signature.suffix.lower()}"
        files.copy_atomic(signature, home.root / signature_file)
    if cert is not None:
        from cryptography.hazmat.primitives.serialization import Encoding

        cert_file = f"secure/cert-{safe}.p12"
        files.copy_atomic(cert, home.root / cert_file)
        # the public certificate beside it, to check signatures without the password
        public = home.root / f"secure/cert-{safe}.pem"
        _keep_replaced(public, certificate.cert.public_bytes(Encoding.PEM))
        public.write_bytes(certificate.cert.public_bytes(Encoding.PEM))
        os.chmod(public, 0o600)
    with transaction(home.db):
        home.db.execute(
            """INSERT INTO signers(name, role, signature_file, cert_file, cert_subject, cert_not_after) VALUES (?,?,?,?,?,?)
               ON CONFLICT(name) DO UPDATE SET role=excluded.role,
               signature_file=coalesce(excluded.signature_file, signature_file),
               cert_file=coalesce(excluded.cert_file, cert_file), cert_subject=coalesce(excluded.cert_subject, cert_subject),
               cert_not_after=coalesce(excluded.cert_not_after, cert_not_after)""",
            (name, role, signature_file, cert_file, certificate.subject if certificate else None,
             certificate.not_after.isoformat() if certificate else None))
        audit(home.db, home.operator, "signer.add", name,
              {"role": role, "signature": bool(signature_file), "certificate": certificate.subject if certificate else None})
    return {"name": name, "role": role, "signature": bool(signature_file), "certificate": bool(cert_file)}


REPLACED_CERT_MARK = "-已更换-"


def _keep_replaced(public: Path, new_pem: bytes) -> None:
    """A renewed certificate must not orphan what the earlier one signed: the replaced public
    certificate is kept beside it (secure/cert-NAME-已更换-FINGERPRINT.pem) and stays trusted."""
    if not public.exists() or public.read_bytes() == new_pem:
        return
    from archive.signing.validate import fingerprint, load_certificate_file

    old = fingerprint(load_certificate_file(public))
    kept = public.with_name(f"{public.stem}{REPLACED_CERT_MARK}{old[:16]}.pem")
    if not kept.exists():
        files.copy_atomic(public, kept)


@dataclass
class Approver:
    name: str
    role: str
    signature: Path | None
    certificate: Certificate | None
    seal: Path
    cert_file: Path | None = None


def load_approver(home: Home, name: str) -> Approver:
    """Everything needed to sign as `name`, checked before anything is written."""
    row = home.db.execute("SELECT * FROM signers WHERE name=?", (name,)).fetchone()
    if row is None:
        known = "、".join(r[0] for r in home.db.execute("SELECT name FROM signers")) or "无"
        raise NotFoundError(f"没有名为「{name}」的签章人（已登记：{known}）",
                            hint="请先运行 archive signer add 姓名 --role 职务 [--signature 签名.png] [--cert 证书.p12]")
    seal = seal_path(home)
    signature = home.root / row["signature_file"] if row["signature_file"] else None
    if signature is not None and not signature.exists():
        raise ArchiveError(f"签章人 {name} 的签名图片丢失，请重新登记")
    certificate = cert_file = None
    if row["cert_file"]:
        cert_file = home.root / row["cert_file"]
        certificate = load_certificate(cert_file, os.environ.get(PASSWORD_ENV))
    return Approver(row["name"], row["role"], signature, certificate, seal, cert_file)
