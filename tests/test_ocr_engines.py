"""The OCR engine interface and registry (issue 12 point 2): no ONNX model for tests without OCR."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from archive.errors import ArchiveError
from archive.scans.ocr import ENGINES, OcrEngine, detector_for, get_engine, names
from archive.scans.ocr.fake import FakeOcrEngine
from archive.scans.pipeline import PageReader
from archive.scans.prepare import PagePreparer
from tests.scanfixtures import text_pdf


def test_cli_choices_come_from_the_registry():
    from archive.cli import ingest, ocr

    for command in (ocr, ingest):
        option = next(p for p in command.params if p.name == "engine")
        assert tuple(option.type.choices) == names()
    assert {"rapidocr", "paddleocr", "tesseract"} <= set(names())
    # the in-tree fake engine is registered for tests but never offered to users
    assert "fake" in ENGINES and "fake" in names(include_hidden=True) and "fake" not in names()


def test_hidden_fake_engine_is_never_offered_on_the_command_line(tmp_path):
    from tests.conftest import run_cli

    image = tmp_path / "scan.png"
    image.write_bytes(b"")
    assert "fake" not in run_cli("ocr", "--help").output
    refused = run_cli("ocr", str(image), "--engine", "abbyy")
    assert refused.exit_code == 2 and "rapidocr" in refused.output and "fake" not in refused.output
    # accepted by name for test harnesses (subprocess workers), never listed
    assert run_cli("ocr", str(image), "--engine", "fake").exit_code != 2
    with pytest.raises(ArchiveError, match="可用：rapidocr, paddleocr, tesseract$"):
        get_engine("abbyy")


def test_unknown_engine_is_refused_in_chinese():
    with pytest.raises(ArchiveError, match="未知的 OCR 引擎"):
        get_engine("abbyy")


def test_every_engine_implements_the_interface():
    import importlib

    for spec in ENGINES.values():
        cls = getattr(importlib.import_module(f"archive.scans.ocr.{spec.module}"), spec.cls)
        assert issubclass(cls, OcrEngine) and cls.name == spec.name
        if cls.detects:  # an engine that says it detects overrides the three detection methods
            for method in ("detect", "upside_down", "recognize_boxes"):
                assert getattr(cls, method) is not getattr(OcrEngine, method), (spec.name, method)


def test_an_engine_without_detection_gets_the_default_detector():
    class Plain(OcrEngine):
        name = "plain"

        def recognize(self, image):
            return []

    fake = FakeOcrEngine()
    assert detector_for(fake) is fake
    with pytest.raises(NotImplementedError):
        Plain().detect(np.zeros((4, 4), np.uint8))


def test_text_layer_pdf_and_fake_engine_load_no_onnx_model(tmp_path):
    pdf = text_pdf(tmp_path / "a.pdf", ["居民身份证", "公民身份号码 520111199001011234"])
    script = (
        "import sys; from pathlib import Path; from archive.scans.pipeline import PageReader;"
        f"r = PageReader('fake').process(Path({str(pdf)!r}));"
        "print(r.pages[0].source, 'onnxruntime' in sys.modules, 'rapidocr' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["text-layer", "False", "False"]


def test_fake_engine_reads_its_sidecar_page_by_page(tmp_path):
    image = Image.new("RGB", (600, 800), "white")
    scan = tmp_path / "scan.png"
    image.save(scan)
    (tmp_path / "scan.png.fake-ocr.txt").write_text("姓名 张三\n公民身份号码 520111199001011234\n", encoding="utf-8")
    reader = PageReader("fake")
    result = reader.process(scan)
    assert result.bad_input is None
    assert result.pages[0].engine == "fake" and result.text.splitlines() == ["姓名 张三", "公民身份号码 520111199001011234"]
    (tmp_path / "scan.png.fake-ocr.txt").unlink()
    assert reader.process(scan).text == ""  # no sidecar: nothing read, nothing left over


def test_preparer_uses_the_declared_detector():
    calls = []

    class Counting(FakeOcrEngine):
        def detect(self, image):
            calls.append(image.shape)
            return []

    prepared = PagePreparer(Counting()).prepare(Image.new("RGB", (1240, 1754), "white"))
    assert calls and max(calls[0]) <= 1024 and prepared.rotation == 0 and prepared.skew == 0.0


def test_model_folder_is_a_parameter_or_the_homes_config_never_the_environment(home, monkeypatch, tmp_path):
    from archive.scans.ingest import Ingester

    monkeypatch.setenv("ARCHIVE_OCR_MODEL_DIR", str(tmp_path / "from-env"))
    assert Ingester(home, "fake").model_dir is None  # the library reads no environment variable
    home.config.ocr_model_dir = str(tmp_path / "from-config")
    assert Ingester(home, "fake").model_dir == str(tmp_path / "from-config")
    assert Ingester(home, "fake", model_dir=str(tmp_path / "given")).model_dir == str(tmp_path / "given")


def test_cli_passes_the_model_folder_option_to_the_engine(tmp_path):
    from tests.conftest import run_cli

    image = tmp_path / "scan.png"
    Image.new("RGB", (40, 40), "white").save(image)
    result = run_cli("ocr", str(image), "--engine", "paddleocr", "--model-dir", str(tmp_path / "nowhere"), "--json")
    assert result.exit_code != 0 and "nowhere" in result.stderr and "不存在" in result.stderr
