import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pypdf
import pytest

from archive import files
from archive.documents.generate import Generator
from archive.index import store
from archive.scans.identify import classify, find_id_numbers
from archive.scans.ingest import Ingester
from archive.scans.readers import join_han_spaces
from archive.scans.synthetic import Degradation
from archive.search.engine import search
from tests.conftest import run_cli
from tests.scanfixtures import sealed_scan, text_pdf

DAY = dt.date(2025, 7, 8)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- identification, no OCR ---------------------------------------------------------------------

def test_id_numbers_survive_ocr_confusions():
    from archive import idcard

    number = next(n for n in (idcard.make("520111", dt.date(1990, 3, 7), s) for s in range(200)) if n.endswith("X"))
    assert find_id_numbers(f"公民身份号码 {number}") == [number]
    confused = number[:2] + "O" + number[3:6] + " l" + number[7:9] + "OO" + number[11:17] + "×"
    assert find_id_numbers(f"身份证号：{confused}") == [number]
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert find_id_numbers(f"号码 {wrong}") == []  # checksum wrong: not guessed


def test_classify_titles_and_certificates():
    assert classify("最低生活保障申请不予批准告知书\n青岩民不批") == "refusal"
    assert classify("中华人民共和国残疾人证 残疾类别 肢体") == "disability"
    assert classify("常住人口登记卡 户主或与户主关系") == "hukou"
    assert classify("随便一张纸") is None


def test_spaced_han_from_text_layers_is_joined():
    assert join_han_spaces("最 低 生 活 保 障 金 2025 年") == "最低生活保障金 2025 年"


# --- born-digital files (text layer, no OCR) ---------------------------------------------------

def test_text_layer_pdf_filed_by_id_number(home, township):
    household = next(h for h in township if h.status == "在保" and len(h.members) > 1)
    member = household.members[1]
    inbox_file = text_pdf(home.inbox_dir / "户口.pdf",
                          ["常住人口登记卡", f"姓名 {member.name}", f"公民身份号码 {member.id_number}", "户主或与户主关系 子"])
    digest = sha(inbox_file)
    records = Ingester(home, "fake").run([home.inbox_dir])
    assert [r.status for r in records] == ["filed"]
    record = records[0]
    assert record.household == household.head.id_number and record.type == "hukou"
    assert not inbox_file.exists()
    row = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (record.doc_id,)).fetchone()
    assert sha(home.root / row["original_path"]) == digest  # stored unchanged
    assert json.loads((home.root / row["sidecar_path"]).read_text(encoding="utf-8"))["pages"][0]["source"] == "text-layer"


def test_unplaceable_scan_goes_to_review_then_assign_and_reject(home, township):
    text_pdf(home.inbox_dir / "a.pdf", ["一份说明", "没有身份证号，也没有村名"])
    text_pdf(home.inbox_dir / "b.pdf", ["另一份材料", "同样无法识别归属"])
    records = Ingester(home, "fake").run([home.inbox_dir])
    assert {r.status for r in records} == {"review"} and all(r.household is None for r in records)
    listed = run_cli("--home", str(home.root), "review", "list", "--json")
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(items) == 2
    head = township[0].head.id_number
    result = run_cli("--home", str(home.root), "review", "assign", items[0]["doc_id"], "--household", head, "--type", "lease")
    assert result.exit_code == 0, result.stderr
    row = home.db.execute("SELECT household_id, type, pdf_path FROM documents WHERE doc_id=?", (items[0]["doc_id"],)).fetchone()
    assert row["household_id"] == head and row["type"] == "lease" and (home.root / row["pdf_path"]).exists()
    result = run_cli("--home", str(home.root), "review", "reject", items[1]["doc_id"], "--reason", "不属于本乡镇")
    assert result.exit_code == 0
    assert "为空" in run_cli("--home", str(home.root), "review", "list").stdout


def _bad_files(folder: Path) -> dict[str, Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["empty"] = folder / "empty.pdf"
    files["empty"].write_bytes(b"")
    good = text_pdf(folder / "tmp.pdf", ["临时文件"]).read_bytes()
    files["truncated"] = folder / "truncated.pdf"
    files["truncated"].write_bytes(good[: len(good) // 2])
    files["corrupt"] = folder / "corrupt.pdf"
    files["corrupt"].write_bytes(b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n")
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(folder / "tmp.pdf"))
    writer.encrypt("secret")
    files["encrypted"] = folder / "encrypted.pdf"
    with open(files["encrypted"], "wb") as handle:
        writer.write(handle)
    (folder / "tmp.pdf").unlink()
    files["unsupported"] = folder / "notes.docx"
    files["unsupported"].write_bytes(b"PK\x03\x04 a word file")
    files["broken_jpeg"] = folder / "photo.jpg"
    files["broken_jpeg"].write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(500))
    files["huge"] = folder / "huge.png"
    Image.new("1", (12000, 12000), 1).save(files["huge"])
    return files


def test_bad_inputs_are_quarantined_with_reasons_and_the_batch_goes_on(home, township):
    files = _bad_files(home.inbox_dir)
    household = township[0]
    good = text_pdf(home.inbox_dir / "good.pdf", ["居民身份证", f"公民身份号码 {household.head.id_number}"])
    digests = {name: sha(path) for name, path in files.items()}
    result = run_cli("--home", str(home.root), "ingest", "--json")
    assert result.exit_code == 0, result.stderr
    records = {Path(r["source"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["good.pdf"]["status"] == "filed" and not good.exists()
    expected = {"empty": "为空", "truncated": "不完整", "corrupt": "损坏", "encrypted": "加密",
                "unsupported": "不支持", "broken_jpeg": "损坏", "huge": "过大"}
    for name, word in expected.items():
        record = records[files[name].name]
        assert record["status"] == "quarantined", name
        assert word in record["reason"], (name, record["reason"])
        kept = list((home.root / "quarantine").rglob(f"*-{files[name].name}"))
        assert len(kept) == 1 and sha(kept[0]) == digests[name]  # moved, never altered
        reason_file = kept[0].with_name(kept[0].name + ".原因.txt")
        assert word in reason_file.read_text(encoding="utf-8")
    assert not any(home.inbox_dir.iterdir())


def test_same_file_twice_is_recorded_once(home, township, tmp_path):
    household = township[1]
    outside = text_pdf(tmp_path / "copy.pdf", ["居民身份证", f"公民身份号码 {household.head.id_number}"])
    first = Ingester(home, "fake").run([outside])
    second = Ingester(home, "fake").run([outside])
    assert first[0].status == "filed" and second[0].status == "duplicate"
    assert outside.exists()  # a file outside the inbox is never moved
    assert home.db.execute("SELECT count(*) FROM documents WHERE origin='scan'").fetchone()[0] == 1


def test_crash_after_storing_then_rerun_finishes_without_duplicates(home, township, monkeypatch):
    heads = [h.head.id_number for h in township[:4]]
    for index, head in enumerate(heads):
        text_pdf(home.inbox_dir / f"{index}.pdf", ["居民身份证", f"公民身份号码 {head}"])
    original = Ingester._file
    calls = {"n": 0}

    def crashing(self, job, processed):
        calls["n"] += 1
        if calls["n"] == 2:
            # files written, nothing recorded yet: the worst moment
            files.copy_atomic(job.staged, self.home.root / "documents" / "partial-write")
            raise KeyboardInterrupt
        return original(self, job, processed)

    monkeypatch.setattr(Ingester, "_file", crashing)
    with pytest.raises(KeyboardInterrupt):
        Ingester(home, "fake").run([home.inbox_dir])
    monkeypatch.setattr(Ingester, "_file", original)
    records = Ingester(home, "fake").run([home.inbox_dir])
    assert {r.status for r in records} == {"filed"} and len(records) == 3
    rows = home.db.execute("SELECT household_id FROM documents WHERE origin='scan'").fetchall()
    assert sorted(r[0] for r in rows) == sorted(heads)
    assert not any(home.inbox_dir.iterdir())


def test_killed_ingest_resumes_to_a_complete_archive(home, township):
    heads = [h.head.id_number for h in township[:12]]
    for index, head in enumerate(heads):
        text_pdf(home.inbox_dir / f"id{index:02d}.pdf", ["居民身份证", f"公民身份号码 {head}"])
    home.close()
    command = [sys.executable, "-m", "archive.cli", "--home", str(home.root), "ingest"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    from archive.home import Home

    again = Home(home.root)
    rows = again.db.execute("SELECT household_id FROM documents WHERE origin='scan'").fetchall()
    assert sorted(r[0] for r in rows) == sorted(heads)
    assert again.db.execute("SELECT count(*) FROM scans WHERE status != 'filed'").fetchone()[0] == 0
    assert not any(again.inbox_dir.iterdir())
    stored = list(again.documents_dir.rglob("*-原件.pdf"))
    assert len(stored) == len(heads)
    again.close()


# --- real OCR on synthetic scans ----------------------------------------------------------------

@pytest.mark.slow
def test_qr_round_trip_signed_scan_is_linked(home, head_id):
    generated = Generator(home).household_document("refusal", head_id, DAY, {"reason": "家庭拥有机动车辆"})
    spec = Degradation(dpi=200, rotation=90, skew=1.2, noise=5, jpeg=75, seal=True)
    scan = sealed_scan(generated.pdf, home.inbox_dir / "signed.jpg", spec)
    digest = sha(scan)
    records = Ingester(home).run([home.inbox_dir])
    assert [r.status for r in records] == ["linked"]
    record = records[0]
    assert record.household == head_id and record.type == "refusal"
    row = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (record.doc_id,)).fetchone()
    assert row["source_doc"] == generated.doc_id and row["number"] == generated.number
    assert sha(home.root / row["original_path"]) == digest
    text = pypdf.PdfReader(home.root / row["pdf_path"]).pages[0].extract_text()
    assert "机动车辆" in text.replace("\n", "") and "不 予" not in text  # searchable, no spaces between Han
    sidecar = json.loads((home.root / row["sidecar_path"]).read_text(encoding="utf-8"))
    page = sidecar["pages"][0]
    assert page["rotation"] == 270 and abs(page["skew"]) > 0.5
    assert all(0 <= line["confidence"] <= 1 and len(line["box"]) == 4 for line in page["lines"])
    store.sync(home)
    hits = search(home, "机动车辆", household=head_id).hits
    assert record.doc_id in {hit.doc_id for hit in hits}


@pytest.mark.slow
def test_the_archival_copy_keeps_the_seal_in_colour_while_the_text_under_it_is_read(home, head_id):
    """Red is suppressed for reading only: the searchable PDF filed shows the page in colour,
    the seal red as scanned (DA/T 31 asks for colour where a page has a seal), and its text
    layer holds the issuing office the seal is pressed over."""
    import numpy as np
    import pypdfium2
    from PIL import Image

    generated = Generator(home).household_document("refusal", head_id, DAY, {"reason": "家庭拥有机动车辆"})
    scan = sealed_scan(generated.pdf, home.inbox_dir / "sealed.png", Degradation(dpi=200, seal=True))
    rgb = np.asarray(Image.open(scan).convert("RGB")).astype(int)
    red_in_scan = ((rgb[:, :, 0] - rgb[:, :, 1:].mean(axis=2)) > 60).mean()
    [record] = Ingester(home).run([home.inbox_dir])
    row = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (record.doc_id,)).fetchone()
    pdf = pypdfium2.PdfDocument(home.root / row["pdf_path"])
    try:
        shown = np.asarray(pdf[0].render(scale=200 / 72).to_pil().convert("RGB")).astype(int)
    finally:
        pdf.close()
    red_filed = ((shown[:, :, 0] - shown[:, :, 1:].mean(axis=2)) > 60).mean()
    assert red_in_scan > 0.002 and red_filed > 0.5 * red_in_scan
    text = pypdf.PdfReader(home.root / row["pdf_path"]).pages[0].extract_text().replace("\n", "").replace(" ", "")
    assert "青岩镇人民政府" in text


@pytest.mark.slow
@pytest.mark.parametrize("rotation", [90, 180])
def test_orientation_without_qr(home, head_id, tmp_path, rotation):
    """A page with its QR code covered is still turned upright by the text itself."""
    import random

    from PIL import ImageDraw

    from archive.scans.pipeline import PageReader
    from archive.scans.synthetic import degrade, render_pdf_page

    generated = Generator(home).household_document("suspension", head_id, DAY, {"reason": "务工收入增加"})
    image = render_pdf_page(Path(generated.pdf), 0, 200)
    ImageDraw.Draw(image).rectangle([image.width * 0.7, 0, image.width, image.height * 0.12], fill="white")
    scan = degrade(image, Degradation(dpi=200, rotation=rotation, skew=-1.0), random.Random(2))
    page, _, marks = PageReader().ocr_image(scan)
    assert not marks
    assert page.rotation == (360 - rotation) % 360
    assert "停发告知书" in page.text.replace("\n", "")


@pytest.mark.slow
def test_ocr_command_needs_no_home(home, head_id, tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHIVE_HOME", raising=False)
    generated = Generator(home).household_document("confirmation", head_id, DAY)
    scan = sealed_scan(generated.pdf, tmp_path / "page.png", Degradation(dpi=200, seal=True))
    result = run_cli("ocr", str(scan), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "审核确认通知书" in "".join(line["text"] for line in data["pages"][0]["lines"])
    assert data["qr"] == [{"doc_id": generated.doc_id, "page": 1}]
    plain = run_cli("ocr", str(scan))
    assert "审核确认通知书" in plain.stdout.replace("\n", "")


def test_paddleocr_engine_never_downloads_and_says_why(tmp_path):
    from archive.errors import ArchiveError
    from archive.scans.ocr import get_engine

    with pytest.raises(ArchiveError, match="ocr_model_dir"):
        get_engine("paddleocr", None)
    with pytest.raises(ArchiveError, match="不存在"):
        get_engine("paddleocr", str(tmp_path / "nowhere"))
    (tmp_path / "models" / "PP-OCRv5_server_det").mkdir(parents=True)
    with pytest.raises(ArchiveError, match="文字识别模型|文字检测模型"):
        get_engine("paddleocr", str(tmp_path / "models"))
    with pytest.raises(ArchiveError, match="未知的 OCR 引擎"):
        get_engine("abbyy")


@pytest.mark.slow
def test_tesseract_engine_is_optional(tmp_path):
    import shutil as sh

    from archive.errors import ArchiveError
    from archive.scans.ocr import get_engine

    if not sh.which("tesseract"):
        with pytest.raises(ArchiveError, match="Tesseract"):
            get_engine("tesseract")
        return
    from PIL import Image, ImageDraw, ImageFont

    from archive.rendering.fonts import resolve

    font = resolve()["heiti"]
    image = Image.new("L", (900, 160), 255)
    ImageDraw.Draw(image).text((30, 40), "最低生活保障", fill=0, font=ImageFont.truetype(str(font.path), 64, index=font.index))
    import numpy as np

    try:
        lines = get_engine("tesseract").recognize(np.asarray(image))
    except ArchiveError as exc:  # installed without chi_sim
        assert "chi_sim" in str(exc) or "语言" in str(exc)
        return
    assert "保障" in "".join(line.text for line in lines)


def test_two_ingest_runs_over_one_inbox(home, township):
    heads = [h.head.id_number for h in township[:16]]
    for index, head in enumerate(heads):
        text_pdf(home.inbox_dir / f"id{index:02d}.pdf", ["居民身份证", f"公民身份号码 {head}"])
    home.close()
    command = [sys.executable, "-m", "archive.cli", "--home", str(home.root), "ingest", "--json"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
    from archive.home import Home

    again = Home(home.root)
    rows = again.db.execute("SELECT household_id FROM documents WHERE origin='scan'").fetchall()
    assert sorted(r[0] for r in rows) == sorted(heads)
    assert not any(again.inbox_dir.iterdir())
    assert len(list(again.documents_dir.rglob("*-原件.pdf"))) == len(heads)
    again.close()
