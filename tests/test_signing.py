import datetime as dt
import json
import os
import stat

import numpy as np
import pypdfium2 as pdfium
import pytest

from archive.documents.generate import Generator
from archive.errors import ConflictError
from tests.conftest import run_cli
from tests.helpers import pdf_text
from tests.signfixtures import make_p12, make_seal, make_signature

DAY = dt.date(2025, 7, 8)
PASSWORD = "测试密码-123"


@pytest.fixture
def signing_home(home, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_SIGN_PASSWORD", PASSWORD)
    seal = make_seal(tmp_path / "seal.png")
    assert run_cli("--home", str(home.root), "seal", "set", str(seal)).exit_code == 0
    cert = make_p12(tmp_path / "c.p12", PASSWORD)
    signature = make_signature(tmp_path / "sig.png")
    result = run_cli("--home", str(home.root), "signer", "add", "王明", "--role", "镇长", "--signature", str(signature),
                     "--cert", str(cert))
    assert result.exit_code == 0, result.stderr
    assert run_cli("--home", str(home.root), "signer", "add", "李华", "--role", "副镇长").exit_code == 0
    return home


def _red_share(pdf: str, box_pt: tuple[float, float, float, float]) -> float:
    """Share of strongly red pixels in a region of page one (points, top-left origin)."""
    image = np.asarray(pdfium.PdfDocument(pdf)[0].render(scale=2).to_pil().convert("RGB")).astype(int)
    x0, y0, x1, y1 = (int(v * 2) for v in box_pt)
    region = image[y0:y1, x0:x1]
    red = (region[:, :, 0] > 180) & (region[:, :, 1] < 90) & (region[:, :, 2] < 90)
    return float(red.mean())


def test_signed_notice_has_seal_signature_and_valid_pades(signing_home, head_id):
    home = signing_home
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id, "--date", "2025-07-08",
                     "--set", "reason=收入超标", "--sign", "--approver", "王明", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["signed_by"] == "王明" and data["signature"] == "pades"
    # pyHanko says the signature is intact and covers the whole file
    check = run_cli("--home", str(home.root), "verify-signature", data["pdf"], "--json")
    report = json.loads(check.stdout)
    [sig] = report["signatures"]
    assert check.exit_code == 0 and sig["intact"] and sig["coverage"] == "整个文件" and sig["trusted"]
    assert "青岩镇人民政府" in sig["signer"] and sig["signing_time"]
    # the red seal presses on the office name and the date; the approver is in the signature slot
    from pathlib import Path

    from archive.scans.synthetic import find_text

    x, y = find_text(Path(data["pdf"]), 0, "2025年7月8日")
    assert _red_share(data["pdf"], (x - 50, y - 60, x + 50, y + 20)) > 0.03
    body_x, body_y = find_text(Path(data["pdf"]), 0, "特此告知")
    assert _red_share(data["pdf"], (body_x - 40, body_y - 10, body_x + 40, body_y + 10)) == 0
    text = pdf_text(data["pdf"]).replace("\n", "")
    assert "镇长：" in text
    assert "已电子签章：镇长王明" in text  # the stub records it
    row = home.db.execute("SELECT signed_by, signed_at FROM documents WHERE doc_id=?", (data["doc_id"],)).fetchone()
    assert row["signed_by"] == "王明" and row["signed_at"]
    logged = home.db.execute("SELECT detail FROM audit WHERE action='document.sign' AND target=?", (data["doc_id"],)).fetchone()
    assert "王明" in logged[0] and data["number"] in logged[0]


def test_altered_signed_file_fails_with_chinese_message(signing_home, head_id, tmp_path):
    home = signing_home
    result = Generator(home).household_document("suspension", head_id, DAY, {"reason": "收入增加"}, approver="王明")
    blob = bytearray(open(result.pdf, "rb").read())
    at = blob.find(b"stream") + 300
    blob[at] = (blob[at] + 1) % 256
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(blob)
    check = run_cli("--home", str(home.root), "verify-signature", str(altered))
    assert check.exit_code == 1 and "修改" in check.stdout
    unsigned = Generator(home).household_document("adjustment", head_id, DAY, {"new_amount": "300", "reason": "x"})
    check = run_cli("verify-signature", unsigned.pdf)
    assert check.exit_code == 1 and "没有数字签名" in check.stdout
    # without --home the signature is intact, but nothing vouches for its certificate: not 通过
    check = run_cli("verify-signature", result.pdf, "--json")
    report = json.loads(check.stdout)
    assert check.exit_code == 1 and not report["ok"] and report["status"] == "无法确认签名人"
    assert report["signatures"][0]["intact"] and not report["signatures"][0]["trusted"]


def test_seal_only_signer_and_hand_signing_still_work(signing_home, head_id):
    home = signing_home
    sealed = Generator(home).household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="李华")
    row = home.db.execute("SELECT signature_kind FROM documents WHERE doc_id=?", (sealed.doc_id,)).fetchone()
    assert row[0] == "seal" and "副镇长：李华" in pdf_text(sealed.pdf).replace("\n", "")
    plain = Generator(home).household_document("refusal", head_id, dt.date(2025, 7, 9), {"reason": "收入超标"})
    assert "手工签字" in pdf_text(plain.pdf).replace("\n", "")
    assert run_cli("verify-signature", plain.pdf).exit_code == 1


def test_signed_document_never_regenerated_silently(signing_home, head_id):
    home = signing_home
    generator = Generator(home)
    first = generator.household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="王明")
    with pytest.raises(ConflictError, match="不会以同一文号重新生成"):
        generator.household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="王明")
    with pytest.raises(ConflictError, match="签章"):
        generator.reprint(first.doc_id)
    fixed = generator.household_document("refusal", head_id, DAY, {"reason": "家庭人均收入高于标准"},
                                         approver="王明", replaces=first.doc_id)
    assert fixed.number != first.number
    assert f"本告知书更正{first.number}" in pdf_text(fixed.pdf).replace("\n", "")
    old = home.db.execute("SELECT status, void_reason FROM documents WHERE doc_id=?", (first.doc_id,)).fetchone()
    assert old["status"] == "voided" and fixed.number in old["void_reason"]


def test_key_material_is_protected_and_never_logged(signing_home):
    home = signing_home
    secure = home.root / "secure"
    assert stat.S_IMODE(os.stat(secure).st_mode) == 0o700
    for path in secure.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    log = " ".join(str(r[0]) for r in home.db.execute("SELECT detail FROM audit"))
    assert PASSWORD not in log and "BEGIN" not in log
    assert PASSWORD not in (home.root / "config.yaml").read_text(encoding="utf-8")


def test_signing_errors_come_before_anything_is_written(home, head_id, tmp_path, monkeypatch):
    def count():
        return home.db.execute("SELECT count(*) FROM documents").fetchone()[0]

    before = count()
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id, "--set", "reason=x",
                     "--sign", "--approver", "王明")
    assert result.exit_code != 0 and ("签章人" in result.stderr or "印章" in result.stderr)
    from PIL import Image

    jpeg = tmp_path / "seal.jpg"
    Image.new("RGB", (50, 50), "red").save(jpeg)
    assert "PNG" in run_cli("--home", str(home.root), "seal", "set", str(jpeg)).stderr
    opaque = make_seal(tmp_path / "opaque.png", transparent=False)
    assert "透明" in run_cli("--home", str(home.root), "seal", "set", str(opaque)).stderr
    blue = make_seal(tmp_path / "blue.png", colour=(20, 20, 200))
    assert "红色" in run_cli("--home", str(home.root), "seal", "set", str(blue)).stderr
    assert "不存在" in run_cli("--home", str(home.root), "seal", "set", str(tmp_path / "none.png")).stderr
    cert = make_p12(tmp_path / "c.p12", PASSWORD)
    monkeypatch.setenv("ARCHIVE_SIGN_PASSWORD", "wrong")
    assert "密码不正确" in run_cli("--home", str(home.root), "signer", "add", "王明", "--role", "镇长", "--cert", str(cert)).stderr
    monkeypatch.delenv("ARCHIVE_SIGN_PASSWORD")
    assert "ARCHIVE_SIGN_PASSWORD" in run_cli("--home", str(home.root), "signer", "add", "王明", "--role", "镇长", "--cert", str(cert)).stderr
    monkeypatch.setenv("ARCHIVE_SIGN_PASSWORD", PASSWORD)
    expired = make_p12(tmp_path / "old.p12", PASSWORD, days=-1, start_days=-30)
    assert "过期" in run_cli("--home", str(home.root), "signer", "add", "王明", "--role", "镇长", "--cert", str(expired)).stderr
    junk = tmp_path / "junk.p12"
    junk.write_bytes(b"not a certificate")
    assert "无法读取" in run_cli("--home", str(home.root), "signer", "add", "王明", "--role", "镇长", "--cert", str(junk)).stderr
    assert home.db.execute("SELECT count(*) FROM signers").fetchone()[0] == 0
    assert count() == before
