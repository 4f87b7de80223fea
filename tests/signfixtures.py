"""A test certificate and a seal image, made in the test (cryptography and Pillow)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw


def make_p12(path: Path, password: str, name: str = "青岩镇人民政府", days: int = 365, start_days: int = -1) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"{name} 审批签章")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=start_days)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    blob = pkcs12.serialize_key_and_certificates(b"signer", key, cert, None,
                                                 serialization.BestAvailableEncryption(password.encode()))
    path.write_bytes(blob)
    return path


def make_seal(path: Path, size: int = 420, transparent: bool = True, colour=(220, 30, 30)) -> Path:
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0 if transparent else 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse([8, 8, size - 8, size - 8], outline=colour + (255,), width=size // 22)
    r = size // 2
    star = [(r + r * 0.3 * (1 if k % 2 == 0 else 0.4) * __import__("math").cos(__import__("math").radians(90 + k * 36)),
             r - r * 0.3 * (1 if k % 2 == 0 else 0.4) * __import__("math").sin(__import__("math").radians(90 + k * 36)))
            for k in range(10)]
    draw.polygon(star, fill=colour + (255,))
    image.save(path)
    return path


def make_signature(path: Path) -> Path:
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(10, 70), (60, 20), (110, 75), (170, 25), (230, 70), (290, 30)], fill=(20, 20, 120, 255), width=6)
    image.save(path)
    return path


def sign_with(pdf: bytes, p12: Path, password: str, field: str = "Signature1", name: str = "") -> bytes:
    """Sign `pdf` by an incremental update with any PKCS#12 file (a forger's too)."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=password.encode("utf-8"))
    meta = signers.PdfSignatureMetadata(field_name=field, subfilter=fields.SigSeedSubFilter.PADES,
                                        reason="审批", name=name or None)
    return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer).getvalue()


def append_black_box(pdf: bytes) -> bytes:
    """An incremental update that paints a black box over page one (a change of content)."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stream = writer.add_object(generic.StreamObject(stream_data=b"q 0 0 0 rg 100 500 300 60 re f Q"))
    writer.add_stream_to_page(0, stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
