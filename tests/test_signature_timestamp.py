"""PAdES B-T/B-LT where a time-stamp authority is configured, tested against a local test PKI
(certomancer: CA, TSA, OCSP and CRLs on 127.0.0.1 only)."""

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archive.documents.generate import Generator
from archive.errors import ArchiveError
from archive.filing.month import file_month
from archive.signing.validate import PASSED, check_pdf, trust_of
from tests.conftest import run_cli
from tests.signfixtures import make_seal, make_signature
from tests.test_signing import DAY, PASSWORD
from tests.tsafixtures import local_pki

pytest.importorskip("certomancer")


@pytest.fixture
def pki(tmp_path):
    with local_pki(tmp_path / "pki") as running:
        yield running


def _use_pki(home, pki, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_SIGN_PASSWORD", PASSWORD)
    assert run_cli("--home", str(home.root), "seal", "set", str(make_seal(tmp_path / "seal.png"))).exit_code == 0
    p12 = pki.signer_p12(tmp_path / "signer.p12", PASSWORD)
    result = run_cli("--home", str(home.root), "signer", "add", "王明", "--role", "镇长",
                     "--signature", str(make_signature(tmp_path / "sig.png")), "--cert", str(p12))
    assert result.exit_code == 0, result.stderr
    root = pki.root_der(home.root / "root.der")
    config = home.config_path.read_text(encoding="utf-8")
    home.config_path.write_text(config + f"signing:\n  trust_roots: [{root.name}]\n  tsa_url: {pki.tsa_url}\n",
                                encoding="utf-8")
    return _fresh(home)


@pytest.fixture
def tsa_home(home, pki, tmp_path, monkeypatch):
    return _use_pki(home, pki, tmp_path, monkeypatch)


def _fresh(home):
    from archive.home import resolve_home

    return resolve_home(str(home.root))


def test_signed_at_b_lt_with_embedded_validation_data(tsa_home, head_id, pki):
    home = _fresh(tsa_home)
    notice = Generator(home).household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="王明")
    report = check_pdf(Path(notice.pdf), trust_of(home))
    [sig] = report.signatures
    assert report.status == PASSED, report.report_zh()
    assert sig.level == "B-LT" and sig.timestamp and sig.timestamp_trusted and sig.validation_data
    # the validation data is in the file: the DSS holds the CA's certificate, a CRL or OCSP response
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    with open(notice.pdf, "rb") as handle:
        dss = DocumentSecurityStore.read_dss(PdfFileReader(handle))
        subjects = {c.subject.human_friendly for c in dss.load_certs()}
        assert any("测试根证书" in s for s in subjects) and dss.ocsps and dss.crls  # signer: OCSP; TSA: CRL
    # filed: the stamped copy still passes, after the DSS revision and the stamp
    file_month(home, dt.date(2025, 7, 1))
    stamped = home.root / home.db.execute("SELECT stamped_path FROM documents WHERE doc_id=?",
                                          (notice.doc_id,)).fetchone()[0]
    assert check_pdf(stamped, trust_of(home)).status == PASSED
    if shutil.which("pdfsig"):
        poppler = subprocess.run(["pdfsig", str(stamped)], capture_output=True, text=True, timeout=60).stdout
        assert "Signature is Valid" in poppler, poppler


def test_validation_is_offline_once_signed(home, head_id, tmp_path, monkeypatch):
    """The services stop (the TSA and OCSP of 30 years ago are gone): the record still checks out."""
    with local_pki(tmp_path / "pki") as pki:
        home = _use_pki(home, pki, tmp_path, monkeypatch)
        notice = Generator(home).household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="王明")
    result = run_cli("--home", str(home.root), "verify-signature", notice.pdf, "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["status"] == PASSED, report
    assert report["signatures"][0]["level"] == "B-LT" and report["signatures"][0]["timestamp_trusted"]


def test_unreachable_tsa_is_a_clear_error_and_writes_nothing(tsa_home, head_id):
    home = _fresh(tsa_home)
    config = home.config_path.read_text(encoding="utf-8")
    # port 9 (discard) on loopback: nothing answers
    home.config_path.write_text(re.sub(r"tsa_url: \S+", "tsa_url: http://127.0.0.1:9/tsa", config), encoding="utf-8")
    home = _fresh(home)
    before = home.db.execute("SELECT count(*) FROM documents").fetchone()[0]
    with pytest.raises(ArchiveError, match="带时间戳的签名失败"):
        Generator(home).household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="王明")
    assert home.db.execute("SELECT count(*) FROM documents").fetchone()[0] == before
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id, "--date", "2025-07-08",
                     "--set", "reason=收入超标", "--sign", "--approver", "王明", "--json")
    assert result.exit_code != 0 and "时间戳" in result.stderr and not result.stdout.strip()


def test_self_signed_registered_certificate_with_a_tsa(home, head_id, pki, tmp_path, monkeypatch):
    """A township's own (self-signed, registered) certificate, time-stamped by the configured TSA."""
    from tests.signfixtures import make_p12

    monkeypatch.setenv("ARCHIVE_SIGN_PASSWORD", PASSWORD)
    assert run_cli("--home", str(home.root), "seal", "set", str(make_seal(tmp_path / "seal.png"))).exit_code == 0
    own = make_p12(tmp_path / "own.p12", PASSWORD)
    assert run_cli("--home", str(home.root), "signer", "add", "王明", "--role", "镇长", "--cert", str(own)).exit_code == 0
    root = pki.root_der(home.root / "tsa-root.der")
    config = home.config_path.read_text(encoding="utf-8")
    home.config_path.write_text(config + f"signing:\n  trust_roots: [{root.name}]\n  tsa_url: {pki.tsa_url}\n",
                                encoding="utf-8")
    home = _fresh(home)
    notice = Generator(home).household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="王明")
    report = check_pdf(Path(notice.pdf), trust_of(home))
    [sig] = report.signatures
    assert report.status == PASSED and sig.timestamp_trusted and "王明" in sig.trusted_by, report.report_zh()
