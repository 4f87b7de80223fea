"""Archival PDFs are PDF/A-2b: notices from birth, 归档 copies, catalogues, exports.

Checked by the markers a validator starts from (XMP pdfaid part 2 / conformance B matching the
document information, an sRGB output intent, a file identifier, every font embedded, no
encryption) and by `qpdf --check` for the file structure. veraPDF is not packaged for Debian."""

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pypdf
import pytest
from reportlab.pdfgen import canvas as pdf_canvas

from archive.documents.generate import Generator
from archive.documents.pdfa import srgb_profile
from archive.filing.month import file_month
from archive.filing.stamp import StampFields, stamp_first_page
from tests.conftest import run_cli
from tests.helpers import pdf_fonts
from tests.test_filing import month  # noqa: F401  (fixture)
from tests.test_signing import PASSWORD, signing_home  # noqa: F401  (fixture)

JULY = dt.date(2025, 7, 1)
NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
      "dc": "http://purl.org/dc/elements/1.1/", "pdf": "http://ns.adobe.com/pdf/1.3/",
      "xmp": "http://ns.adobe.com/xap/1.0/"}


def _xmp_value(root: ET.Element, prefix: str, name: str) -> str | None:
    """An XMP property written as an element or as an attribute of rdf:Description."""
    uri = NS[prefix]
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        if f"{{{uri}}}{name}" in description.attrib:
            return description.attrib[f"{{{uri}}}{name}"]
        element = description.find(f"{prefix}:{name}", NS)
        if element is not None:
            items = element.findall(".//rdf:li", NS)
            return items[0].text if items else element.text
    return None


def _pdf_date(value: str) -> dt.datetime:
    match = re.match(r"D:(\d{14})(?:Z|([+-])(\d\d)'(\d\d))", value)
    moment = dt.datetime.strptime(match[1], "%Y%m%d%H%M%S")
    offset = dt.timedelta(0) if match[2] is None else \
        dt.timedelta(hours=int(match[3]), minutes=int(match[4])) * (1 if match[2] == "+" else -1)
    return moment.replace(tzinfo=dt.timezone(offset))


def assert_pdfa(path: Path, signed_slack: int = 0) -> None:
    reader = pypdf.PdfReader(str(path))
    assert not reader.is_encrypted
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object()
    assert "/Filter" not in xmp and xmp["/Subtype"] == "/XML"
    tree = ET.fromstring(re.sub(rb"<\?xpacket[^>]*\?>", b"", xmp.get_data()).strip())
    assert _xmp_value(tree, "pdfaid", "part") == "2" and _xmp_value(tree, "pdfaid", "conformance") == "B", path
    # the document information says the same as the XMP
    info = reader.metadata
    if info.get("/Title"):
        assert _xmp_value(tree, "dc", "title") == info["/Title"]
    assert _xmp_value(tree, "pdf", "Producer") == info.get("/Producer")
    if info.get("/ModDate"):
        # (pyHanko, signing, takes the time twice: allow the second to turn between them)
        difference = dt.datetime.fromisoformat(_xmp_value(tree, "xmp", "ModifyDate")) - _pdf_date(info["/ModDate"])
        assert abs(difference.total_seconds()) <= signed_slack
    assert "/Trapped" not in info
    # the output intent: sRGB ICC profile, three components
    intents = [i.get_object() for i in root["/OutputIntents"]]
    assert any(i["/S"] == "/GTS_PDFA1" for i in intents)
    profile = next(i for i in intents if i["/S"] == "/GTS_PDFA1")["/DestOutputProfile"].get_object()
    data = profile.get_data()
    assert profile["/N"] == 3 and data[36:40] == b"acsp" and data[16:20] == b"RGB "
    # a file identifier, every font embedded, no JavaScript
    assert len(reader.trailer["/ID"]) == 2
    fonts = pdf_fonts(path)
    assert fonts and all(embedded for _, embedded in fonts), [f for f in fonts if not f[1]]
    assert "/JavaScript" not in (root.get("/Names") or {}) and "/OpenAction" not in root
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors" in check.stdout


pytestmark = pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf not installed (scripts/setup.sh installs it)")


def test_sRGB_profile_is_a_valid_icc_profile():
    data = srgb_profile()
    assert int.from_bytes(data[:4], "big") == len(data) and data[36:40] == b"acsp" and data[12:16] == b"mntr"


def test_notices_are_pdfa_from_birth(home, head_id):
    notice = Generator(home).household_document("refusal", head_id, dt.date(2025, 7, 8), {"reason": "收入超标"})
    assert_pdfa(Path(notice.pdf))


def test_signed_notice_keeps_pdfa_and_a_valid_signature(signing_home, head_id):  # noqa: F811
    home = signing_home
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id, "--date", "2025-07-08",
                     "--set", "reason=收入超标", "--sign", "--approver", "王明", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert_pdfa(Path(data["pdf"]), signed_slack=1)
    check = run_cli("--home", str(home.root), "verify-signature", data["pdf"], "--json")
    [signature] = json.loads(check.stdout)["signatures"]
    assert check.exit_code == 0 and signature["intact"]
    # its 归档 copy, stamped by an incremental update, is still PDF/A with the signature intact
    copy = Path(data["pdf"]).with_name("归档副本.pdf")
    assert stamp_first_page(Path(data["pdf"]), copy, StampFields("Z109", 2025, 1, "C01", "D30", 2)) == []
    assert_pdfa(copy, signed_slack=1)
    check = run_cli("--home", str(home.root), "verify-signature", str(copy), "--json")
    assert all(s["intact"] for s in json.loads(check.stdout)["signatures"])


def test_month_outputs_stamped_copies_and_exports_are_pdfa(home, month, tmp_path):  # noqa: F811
    result = file_month(home, JULY)
    pdfs = [home.root / p for p in result.outputs.values() if p.endswith(".pdf")]
    names = {Path(p).name for p in result.outputs.values()}
    assert {"归档文件目录-2025-07.pdf", "盒脊与备考表-2025-07.pdf", "完整性报告-2025-07.pdf", "卷内目录.pdf"} <= names
    for path in pdfs:
        assert_pdfa(path)
    stamped = [home.root / r[0] for r in home.db.execute("SELECT stamped_path FROM documents WHERE stamped_path IS NOT NULL")]
    assert stamped
    for path in stamped:
        assert_pdfa(path)
    out = tmp_path / "调阅.pdf"
    heads = [h.head.id_number for h in month["new"][:2]]
    assert run_cli("--home", str(home.root), "export", *heads, "--out", str(out)).exit_code == 0
    assert_pdfa(out)


def test_a_copy_that_cannot_conform_does_not_claim_pdfa(tmp_path):
    """A born-digital PDF with a font not embedded (Helvetica): the 归档 copy says nothing false."""
    source = tmp_path / "外来文件.pdf"
    buffer = io.BytesIO()
    canvas = pdf_canvas.Canvas(buffer)
    canvas.setFont("Helvetica", 12)
    canvas.drawString(72, 600, "a letter from elsewhere")
    canvas.save()
    source.write_bytes(buffer.getvalue())
    target = tmp_path / "外来文件-归档.pdf"
    problems = stamp_first_page(source, target, StampFields("Z109", 2025, 1, "C01", "D30", 1))
    assert problems == ["字体未嵌入：/Helvetica"]
    xmp = pypdf.PdfReader(str(target)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid:part" not in xmp and b"pdfaid:conformance" not in xmp


def test_the_filed_copy_of_an_image_scan_is_pdfa(tmp_path):
    """A scan (page image, invisible OCR text in the embedded CJK font) stamped for filing."""
    from PIL import Image, ImageDraw

    from archive.scans.ocr.base import OcrLine, OcrPage
    from archive.scans.searchable import write_searchable_pdf

    image = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
    ImageDraw.Draw(image).rectangle([200, 900, 1000, 960], outline=(200, 20, 20), width=4)
    page = OcrPage(1240, 1754, [OcrLine("不予批准告知书", [[300, 400], [900, 400], [900, 460], [300, 460]], 0.99)])
    source = tmp_path / "扫描件.pdf"
    source.write_bytes(write_searchable_pdf([(image, page, 150.0)], title="扫描件"))
    target = tmp_path / "扫描件-归档.pdf"
    assert stamp_first_page(source, target, StampFields("Z109", 2025, 3, "C02", "D30", 1)) == []
    assert_pdfa(target)
    assert "不予批准告知书" in pypdf.PdfReader(str(target)).pages[0].extract_text()
