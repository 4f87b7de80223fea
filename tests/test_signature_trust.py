"""verify-signature checks every signature: intact, covering what it should, and trusted by the
archive home (registered certificate by fingerprint, or a configured trust root)."""

import json
from pathlib import Path

import pytest

from archive.documents.generate import Generator
from archive.signing.validate import (
    ALTERED,
    MODIFIED,
    PASSED,
    UNTRUSTED,
    check_pdf,
    fingerprint,
    trust_of,
)
from tests.conftest import run_cli
from tests.signfixtures import append_black_box, make_p12, sign_with
from tests.test_signing import DAY, PASSWORD, signing_home  # noqa: F401


@pytest.fixture
def genuine(signing_home, head_id) -> Path:  # noqa: F811
    return Path(Generator(signing_home).household_document("refusal", head_id, DAY, {"reason": "收入超标"},
                                                           approver="王明").pdf)


@pytest.fixture
def impostor(tmp_path) -> Path:
    # the same organisation name and common name as the approver's real certificate
    return make_p12(tmp_path / "impostor.p12", PASSWORD)


def _check(home, path: Path) -> tuple[int, dict]:
    result = run_cli("--home", str(home.root), "verify-signature", str(path), "--json")
    return result.exit_code, json.loads(result.stdout)


def test_untouched_genuine_notice_passes(signing_home, genuine):  # noqa: F811
    code, report = _check(signing_home, genuine)
    assert code == 0 and report["ok"] and report["status"] == PASSED
    [sig] = report["signatures"]
    assert sig["intact"] and sig["trusted"] and sig["status"] == PASSED and sig["coverage"] == "整个文件"
    registered = (signing_home.root / "secure" / "cert-王明.pem").read_bytes()
    from cryptography import x509

    assert sig["fingerprint"] == fingerprint(x509.load_pem_x509_certificate(registered))
    assert "王明" in sig["trusted_by"]
    text = run_cli("--home", str(signing_home.root), "verify-signature", str(genuine))
    assert text.exit_code == 0 and text.stdout.startswith("通过")


def test_impostor_with_the_approvers_name_is_not_trusted(signing_home, head_id, impostor, tmp_path):  # noqa: F811
    plain = Generator(signing_home).household_document("adjustment", head_id, DAY, {"new_amount": "300", "reason": "x"})
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(sign_with(Path(plain.pdf).read_bytes(), impostor, PASSWORD, name="镇长王明"))
    code, report = _check(signing_home, forged)
    assert code == 1 and not report["ok"] and report["status"] == UNTRUSTED
    [sig] = report["signatures"]
    assert sig["intact"] and not sig["trusted"] and "青岩镇人民政府" in sig["signer"]
    text = run_cli("--home", str(signing_home.root), "verify-signature", str(forged))
    assert text.exit_code == 1 and UNTRUSTED in text.stdout and "指纹" in text.stdout
    # outside any home nothing is trusted: the genuine notice cannot be confirmed either
    assert run_cli("verify-signature", str(forged)).exit_code == 1


def test_changed_then_resigned_by_impostor_fails_and_says_why(signing_home, genuine, impostor, tmp_path):  # noqa: F811
    changed = append_black_box(genuine.read_bytes())
    only_changed = tmp_path / "changed.pdf"
    only_changed.write_bytes(changed)
    code, report = _check(signing_home, only_changed)
    assert code == 1 and report["status"] == MODIFIED
    assert report["signatures"][0]["intact"] and report["signatures"][0]["trusted"]

    resigned = tmp_path / "resigned.pdf"
    resigned.write_bytes(sign_with(changed, impostor, PASSWORD, field="Signature2", name="镇长王明"))
    code, report = _check(signing_home, resigned)
    assert code == 1 and not report["ok"]
    first, second = report["signatures"]
    assert first["status"] == MODIFIED and first["coverage"] == "签名后有修改"
    assert second["status"] == UNTRUSTED and second["coverage"] == "整个文件"
    assert report["status"] == MODIFIED and "第1个签名签名后有修改" in report["message"]
    text = run_cli("--home", str(signing_home.root), "verify-signature", str(resigned)).stdout
    assert MODIFIED in text and UNTRUSTED in text


def test_impostor_countersigning_an_unchanged_notice_fails(signing_home, genuine, impostor, tmp_path):  # noqa: F811
    countersigned = tmp_path / "countersigned.pdf"
    countersigned.write_bytes(sign_with(genuine.read_bytes(), impostor, PASSWORD, field="Signature2"))
    code, report = _check(signing_home, countersigned)
    first, second = report["signatures"]
    assert first["status"] == PASSED and first["coverage"] == "签名后追加了其他签名"
    assert second["status"] == UNTRUSTED and code == 1


def test_byte_flipped_notice_is_altered(signing_home, genuine, tmp_path):  # noqa: F811
    blob = bytearray(genuine.read_bytes())
    at = blob.find(b"stream") + 300
    blob[at] = (blob[at] + 1) % 256
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(blob)
    code, report = _check(signing_home, altered)
    assert code == 1 and report["status"] == ALTERED and not report["signatures"][0]["intact"]


def test_configured_trust_root_is_trusted(signing_home, head_id, tmp_path):  # noqa: F811
    """A certificate not registered in the home but listed under signing.trust_roots is trusted."""
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    other = make_p12(tmp_path / "other.p12", PASSWORD, name="青岩镇民政办")
    _, cert, _ = pkcs12.load_key_and_certificates(other.read_bytes(), PASSWORD.encode())
    (signing_home.root / "roots").mkdir()
    (signing_home.root / "roots" / "office.der").write_bytes(cert.public_bytes(Encoding.DER))
    plain = Generator(signing_home).household_document("adjustment", head_id, DAY, {"new_amount": "300", "reason": "x"})
    signed = tmp_path / "office.pdf"
    signed.write_bytes(sign_with(Path(plain.pdf).read_bytes(), other, PASSWORD))
    assert check_pdf(signed, trust_of(signing_home)).status == UNTRUSTED
    config = signing_home.config_path.read_text(encoding="utf-8")
    signing_home.config_path.write_text(config + "signing:\n  trust_roots: [roots/office.der]\n", encoding="utf-8")
    code, report = _check(signing_home, signed)
    assert code == 0 and report["signatures"][0]["trusted_by"] == "信任根"
    # a broken trust-root file is a clear error, not a pass
    (signing_home.root / "roots" / "office.der").write_bytes(b"junk")
    result = run_cli("--home", str(signing_home.root), "verify-signature", str(signed))
    assert result.exit_code != 0 and "信任根证书文件" in result.stderr


def test_junk_and_missing_files(signing_home, tmp_path):  # noqa: F811
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    code, report = _check(signing_home, junk)
    assert code == 1 and report["status"] == "文件无法读取" and not report["signatures"]
    missing = run_cli("--home", str(signing_home.root), "verify-signature", str(tmp_path / "none.pdf"))
    assert missing.exit_code == 3 and "文件不存在" in missing.stderr  # ExitCode.NOT_FOUND
