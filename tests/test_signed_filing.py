"""The 归档 copy and the inspection export of a signed notice never show a broken signature: the
stamp is an incremental update the signature still covers up to, checked by poppler's pdfsig and
by pyHanko; anything else added after signing is still reported."""

import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

from archive.documents.generate import Generator
from archive.filing.month import file_month
from archive.signing.validate import MODIFIED, PASSED, check_pdf, trust_of
from tests.conftest import run_cli
from tests.signfixtures import append_black_box
from tests.test_signing import DAY, _red_share, signing_home  # noqa: F401

JULY = dt.date(2025, 7, 1)
needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed; scripts/setup.sh installs it")


def _pdfsig(path: Path) -> str:
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def filed(signing_home, head_id):  # noqa: F811
    notice = Generator(signing_home).household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="王明")
    file_month(signing_home, JULY)
    row = signing_home.db.execute("SELECT * FROM documents WHERE doc_id=?", (notice.doc_id,)).fetchone()
    assert row["stamped_path"], "the signed notice is filed with a stamped copy"
    return signing_home, Path(notice.pdf), signing_home.root / row["stamped_path"], row


@needs_pdfsig
def test_stamped_copy_keeps_a_valid_signature(filed):
    home, original, stamped, row = filed
    # the signed revision is untouched: the stamped copy starts with the original's bytes
    assert stamped.read_bytes().startswith(original.read_bytes())
    report = check_pdf(stamped, trust_of(home))
    [sig] = report.signatures
    assert report.status == PASSED and sig.coverage == "签名后加盖了归档章", report.report_zh()
    result = run_cli("--home", str(home.root), "verify-signature", str(stamped), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"]
    poppler = _pdfsig(stamped)
    assert "Signature is Valid" in poppler and "Digest Mismatch" not in poppler, poppler
    # the stamp is there and visible: one /Stamp annotation on page one, red where it is drawn
    page = pypdf.PdfReader(str(stamped)).pages[0]
    stamps = [a.get_object() for a in page["/Annots"] if a.get_object()["/Subtype"] == "/Stamp"]
    assert len(stamps) == 1 and row["archival_code"][-4:] in str(stamps[0]["/Contents"])
    x0, y0, x1, y1 = (float(v) for v in stamps[0]["/Rect"])
    height = float(page.mediabox.height)
    assert _red_share(str(stamped), (x0, height - y1, x1, height - y0)) > 0.03


def test_other_changes_after_the_stamp_are_still_reported(filed, tmp_path):
    home, _, stamped, _ = filed
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(append_black_box(stamped.read_bytes()))
    assert check_pdf(changed, trust_of(home)).status == MODIFIED


def test_a_forged_stamp_annotation_is_not_the_archival_stamp(filed, tmp_path):
    """Whatever calls itself the 归档章 but is larger than the stamp, or a second one, is a change."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    home, original, stamped, _ = filed

    def add_stamp(data: bytes, rect: tuple[float, float, float, float], **extra) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        xobject = writer.add_object(generic.StreamObject({
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject(generic.FloatObject(v) for v in (0, 0, 400, 400))},
            stream_data=b"1 1 1 rg 0 0 400 400 re f"))
        annot = writer.add_object(generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/Stamp"),
            generic.NameObject("/NM"): generic.TextStringObject("archive-filing-stamp"),
            generic.NameObject("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in rect),
            generic.NameObject("/AP"): generic.DictionaryObject({generic.NameObject("/N"): xobject}),
            **{generic.NameObject(f"/{k}"): v for k, v in extra.items()}}))
        page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
        page = page_ref.get_object()
        annots = page.get("/Annots", generic.ArrayObject())
        annots.append(annot)
        page[generic.NameObject("/Annots")] = annots
        writer.mark_update(page_ref)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    big = tmp_path / "big.pdf"
    big.write_bytes(add_stamp(original.read_bytes(), (100, 300, 500, 700)))  # covers the body text
    assert check_pdf(big, trust_of(home)).status == MODIFIED
    second = tmp_path / "second.pdf"
    top = float(pypdf.PdfReader(str(original)).pages[0].mediabox.height) - 30
    second.write_bytes(add_stamp(stamped.read_bytes(), (100, top - 30, 200, top)))
    assert check_pdf(second, trust_of(home)).status == MODIFIED
    # the stamp's size, but over the body text rather than in the top margin
    low = tmp_path / "low.pdf"
    low.write_bytes(add_stamp(original.read_bytes(), (100, 300, 200, 330)))
    assert check_pdf(low, trust_of(home)).status == MODIFIED
    # the right size and place, but carrying an action (a link, a script)
    action = generic.DictionaryObject({generic.NameObject("/S"): generic.NameObject("/URI"),
                                       generic.NameObject("/URI"): generic.TextStringObject("http://example.invalid")})
    acting = tmp_path / "acting.pdf"
    acting.write_bytes(add_stamp(original.read_bytes(), (100, top - 30, 200, top), A=action))
    assert check_pdf(acting, trust_of(home)).status == MODIFIED
    # the control: the same annotation without the action is accepted as the stamp
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(add_stamp(original.read_bytes(), (100, top - 30, 200, top)))
    assert check_pdf(plain, trust_of(home)).status == PASSED


@needs_pdfsig
def test_export_of_a_signed_notice_has_no_broken_signature(filed, head_id, tmp_path):
    home, _, _, row = filed
    out = tmp_path / "export.pdf"
    result = run_cli("--home", str(home.root), "export", head_id, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    poppler = _pdfsig(out)
    assert "does not contain any signatures" in poppler, poppler
    reader = pypdf.PdfReader(str(out))
    assert not any(a.get_object().get("/FT") == "/Sig" for p in reader.pages for a in (p.get("/Annots") or []))
    titles = [item.title for group in reader.outline if isinstance(group, list) for item in group]
    assert any("原件已数字签名" in t for t in titles), titles
    logged = home.db.execute("SELECT detail FROM audit WHERE action='export' ORDER BY id DESC").fetchone()[0]
    assert row["doc_id"] in logged


def test_verify_checks_the_signatures_of_every_signed_document(filed, tmp_path):
    """A changed 归档 copy whose stored digest was updated too is caught by its signature."""
    from archive.catalog import file_digest
    from archive.filing.verify import verify

    home, original, stamped, row = filed
    assert verify(home, check_usability=False).ok
    stamped.write_bytes(append_black_box(stamped.read_bytes()))
    original.write_bytes(pypdf_rewrite(original))  # the old stamp's way: a rewrite keeping the field
    for kind, path in (("stamped_path", stamped), ("pdf_path", original)):
        home.db.execute("UPDATE files SET sha256=? WHERE doc_id=? AND kind=?", (file_digest(path), row["doc_id"], kind))
    home.db.commit()
    result = verify(home, check_usability=False)
    problems = {f.target: f.problem for f in result.findings if f.check == "真实性"}
    assert MODIFIED in problems[row["stamped_path"]], result.report_zh()
    assert "未通过" in problems[row["pdf_path"]], result.report_zh()


def pypdf_rewrite(path: Path) -> bytes:
    """What the 归档 stamp used to do: rewrite the whole file, signature field and all."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(str(path)))
    writer.add_metadata({"/Title": "rewritten"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@needs_pdfsig
def test_a_signed_file_that_cannot_be_updated_in_place_is_copied_without_its_signature(
        signing_home, head_id, monkeypatch):  # noqa: F811
    """When pyHanko cannot append to the file, the 归档 copy leaves the signature out and says whose copy it is."""
    import hashlib

    from pyhanko.pdf_utils.misc import PdfReadError

    from archive.filing import stamp

    def refuse(*args, **kwargs):
        raise PdfReadError("cannot update in place")

    monkeypatch.setattr(stamp, "stamp_signed_first_page", refuse)
    notice = Generator(signing_home).household_document("refusal", head_id, DAY, {"reason": "收入超标"}, approver="王明")
    file_month(signing_home, JULY)
    row = signing_home.db.execute("SELECT stamped_path FROM documents WHERE doc_id=?", (notice.doc_id,)).fetchone()
    copy = signing_home.root / row["stamped_path"]
    assert "does not contain any signatures" in _pdfsig(copy)
    info = pypdf.PdfReader(str(copy)).metadata
    assert info[stamp.SIGNED_ORIGINAL_KEY] == hashlib.sha256(Path(notice.pdf).read_bytes()).hexdigest()
    assert "Signature is Valid" in _pdfsig(Path(notice.pdf))  # the original keeps its signature
    # verify accepts the recorded copy, and reports a copy that names another original
    from archive.filing.verify import verify

    assert not [f for f in verify(signing_home, check_usability=False).findings if f.check == "真实性"]
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(str(copy)))
    writer.add_metadata({stamp.SIGNED_ORIGINAL_KEY: "0" * 64})
    with open(copy, "wb") as handle:
        writer.write(handle)
    from archive.catalog import file_digest

    signing_home.db.execute("UPDATE files SET sha256=? WHERE doc_id=? AND kind='stamped_path'",
                            (file_digest(copy), notice.doc_id))
    signing_home.db.commit()
    problems = [f.problem for f in verify(signing_home, check_usability=False).findings if f.target == row["stamped_path"]]
    assert problems == ["登记为数字签名的文书，文件中却没有数字签名"], problems
