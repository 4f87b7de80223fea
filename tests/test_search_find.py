"""Search finds anyone: members the notice does not print, names one character off in any
position, households with no document yet, voided documents (last, marked), 文号 written loosely,
and says which file to open."""

import datetime as dt
import hashlib
import json
import random
import stat
from pathlib import Path

import pytest

from archive import sample
from archive.config import Config
from archive.documents.generate import Generator
from archive.errors import ArchiveError, NotFoundError
from archive.filing.household_file import household_file, resolve_household
from archive.home import init_home
from archive.index import store
from archive.roster.importer import import_roster
from archive.search.engine import search, snippet
from tests.conftest import MONTH, run_cli
from tests.helpers import docx_text, pdf_text

DAY = dt.date(2025, 7, 8)
# names that the sample township's alphabet never makes, one of each length
CRAFTED = [("谭蔚", "思潜村"), ("龚晓岚", "新关村"), ("欧阳修远", "龙井村")]
WRONG = "彧"  # a character in no one's name

pytestmark = pytest.mark.usefixtures("index_backend")  # every test on every index backend


def _household(ids, name, village, spouse, category="低保"):
    members = [sample.SampleMember(name, "本人", ids.make(dt.date(1970, 3, 4), False)),
               sample.SampleMember(spouse, "妻子", ids.make(dt.date(1972, 5, 6), True))]
    return sample.SampleHousehold(village, category, 600.0, dt.date(2020, 1, 1), members=members)


@pytest.fixture
def town(tmp_path):
    """The sample township plus households with crafted names, a refusal for each crafted one,
    and one crafted household (roster only) with no document at all."""
    township = sample.make_township(40, MONTH, seed=3)
    ids = sample._Ids(random.Random(41))
    ids.used = {m.id_number for h in township for m in h.members}
    crafted = [_household(ids, name, village, spouse)
               for (name, village), spouse in zip(CRAFTED, ["阮绮雯", "阎霁月", "骆瑾瑜"], strict=True)]
    lonely = _household(ids, "鞠泓澈", "思潜村", "皮婉婷", category="特困")
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES),
                    complaint_phone="0851-83200000", office_phone="0851-83200001")
    home = init_home(tmp_path / "home", config)
    import_roster(home.db, sample.write_roster_xlsx(township + crafted + [lonely], tmp_path / "roster.xlsx"),
                  home.config, "tester")
    generator = Generator(home)
    docs = {h.head.name: generator.household_document("refusal", h.head.id_number, DAY, {"reason": "家庭拥有机动车辆"})
            for h in crafted}
    store.sync(home)
    yield home, crafted, lonely, docs
    home.close()


def test_member_found_on_a_notice_that_prints_only_the_head(town):
    home, crafted, _, docs = town
    household = crafted[1]
    spouse = household.members[1].name
    doc = docs[household.head.name]
    assert spouse not in pdf_text(doc.pdf) and household.head.name in pdf_text(doc.pdf)
    result = search(home, spouse)
    assert [h.doc_id for h in result.hits] == [doc.doc_id]
    assert not result.hits[0].approximate


@pytest.mark.parametrize("name", [name for name, _ in CRAFTED])
def test_one_wrong_character_in_every_position(town, name):
    home, crafted, _, docs = town
    household = next(h for h in crafted if h.head.name == name)
    for position in range(len(name)):
        typo = name[:position] + WRONG + name[position + 1:]
        filtered = search(home, typo, village=household.village)
        assert filtered.hits and filtered.hits[0].doc_id == docs[name].doc_id, (typo, "village")
        assert all(h.household == household.head.id_number for h in filtered.hits), typo
        assert filtered.hits[0].approximate and filtered.hits[0].matched == name
        unfiltered = search(home, typo)
        if len(name) > 2:
            assert [h.doc_id for h in unfiltered.hits] == [docs[name].doc_id], typo
            assert unfiltered.hits[0].approximate
        else:
            # two characters alone are too little to guess from: precise, nothing approximate
            assert not any(h.approximate for h in unfiltered.hits), typo
            # a household-level match (the ID's last digits) makes it precise again
            both = search(home, f"{typo} {household.head.id_number[-4:]}")
            assert [h.doc_id for h in both.hits] == [docs[name].doc_id], typo


def test_approximate_hits_rank_after_exact_and_cli_marks_them(town):
    home, crafted, _, docs = town
    name = crafted[2].head.name
    result = run_cli("--home", str(home.root), "search", name[:2] + WRONG + name[3], "--json")
    hit = json.loads(result.stdout.splitlines()[0])
    assert hit["approximate"] is True and hit["matched"] == name and hit["kind"] == "document"
    text = run_cli("--home", str(home.root), "search", name[:2] + WRONG + name[3]).stdout
    assert "「近似」" in text and "文件：" in text and docs[name].pdf in text
    exact = search(home, name)
    assert exact.hits and not any(h.approximate for h in exact.hits)


def test_household_with_no_document_yet(town):
    home, _, lonely, _ = town
    result = search(home, lonely.head.name)
    assert not result.hits
    assert [h.household for h in result.households] == [lonely.head.id_number]
    assert result.households[0].message == "花名册中有此户（思潜村，特困），暂无文书"
    text = run_cli("--home", str(home.root), "search", lonely.members[1].name).stdout
    assert "花名册中有此户（思潜村，特困），暂无文书" in text and "没有找到" not in text
    lines = run_cli("--home", str(home.root), "search", lonely.head.id_number[-6:], "--json").stdout.splitlines()
    found = [json.loads(line) for line in lines]
    assert found and found[0]["household"] == lonely.head.id_number and found[0]["kind"] == "household"
    # one character off, within the village
    near = search(home, lonely.head.name[0] + WRONG + lonely.head.name[2], village="思潜村")
    assert near.households and near.households[0].approximate


def test_show_by_name_and_its_candidates(town):
    home, crafted, lonely, _ = town
    assert household_file(home, crafted[0].members[1].name)["household"] == crafted[0].head.id_number
    shown = run_cli("--home", str(home.root), "show", lonely.head.name)
    assert shown.exit_code == 0 and "暂无文书" in shown.stdout
    # two households with one name: both are listed, none is picked
    home.db.execute("UPDATE members SET name=? WHERE id_number=?", (crafted[0].head.name, lonely.members[1].id_number))
    with pytest.raises(ArchiveError, match="对应 2 户") as error:
        resolve_household(home, crafted[0].head.name)
    assert crafted[0].head.id_number in str(error.value) and lonely.head.id_number in str(error.value)
    # not found, with a roster imported: no advice to import it
    missing = run_cli("--home", str(home.root), "show", "110101199001011237")
    assert missing.exit_code != 0 and "roster import" not in missing.stderr and "找不到" in missing.stderr
    with pytest.raises(NotFoundError, match="差一个字"):
        resolve_household(home, crafted[1].head.name[0] + WRONG + crafted[1].head.name[2])


def test_show_without_a_roster_says_to_import_it(tmp_path):
    home = init_home(tmp_path / "empty", Config(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村"]))
    result = run_cli("--home", str(home.root), "show", "110101199001011237")
    assert result.exit_code != 0 and "roster import" in result.stderr


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_voided_document_marked_ranked_last_and_copied_with_a_mark(town):
    home, crafted, _, docs = town
    household = crafted[1]
    generator = Generator(home)
    other = generator.household_document("suspension", household.head.id_number, DAY, {"reason": "务工收入增加"})
    voided = docs[household.head.name]
    pdf_before, docx_before = _sha(voided.pdf), _sha(voided.docx)
    result = run_cli("--home", str(home.root), "void", voided.doc_id, "--reason", "理由写错")
    assert result.exit_code == 0, result.stderr
    # the originals are untouched, and still match what the catalog recorded
    assert (_sha(voided.pdf), _sha(voided.docx)) == (pdf_before, docx_before)
    recorded = dict(home.db.execute("SELECT kind, sha256 FROM files WHERE doc_id=?", (voided.doc_id,)).fetchall())
    assert recorded["pdf_path"] == pdf_before and recorded["docx_path"] == docx_before
    row = home.db.execute("SELECT void_pdf_path, void_docx_path FROM documents WHERE doc_id=?", (voided.doc_id,)).fetchone()
    marked_pdf, marked_docx = home.root / row[0], home.root / row[1]
    assert recorded["void_pdf_path"] == _sha(marked_pdf)
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in (marked_pdf, marked_docx)), "personal data stays private"
    assert "作废" in pdf_text(marked_pdf) and "作废" not in pdf_text(voided.pdf)
    assert "作废" in docx_text(marked_docx) and "作废" not in docx_text(voided.docx)
    detail = json.loads(home.db.execute("SELECT detail FROM audit WHERE action='document.void'").fetchone()[0])
    assert detail["originals_sha256"]["pdf_path"] == pdf_before
    from archive.filing.verify import verify

    assert not [f for f in verify(home).findings if voided.doc_id in f.target], "the void is consistent with the audit"
    # search: the voided one last, marked, and the file to open is the marked copy
    hits = search(home, household.head.name).hits
    assert [h.doc_id for h in hits] == [other.doc_id, voided.doc_id]
    assert hits[1].voided and not hits[0].voided and hits[1].path == str(marked_pdf)
    text = run_cli("--home", str(home.root), "search", household.head.name).stdout
    assert "【已作废】" in text and str(marked_pdf) in text
    line = [json.loads(x) for x in run_cli("--home", str(home.root), "search", household.head.name, "--json").stdout.splitlines()]
    assert [x["voided"] for x in line] == [False, True]


def test_loose_document_number_ranks_its_document_first(home, township):
    generator = Generator(home)
    heads = [h.head.id_number for h in township if h.status == "在保"][:9]
    made = [generator.household_document("refusal", head, DAY, {"reason": "家庭拥有机动车辆"}) for head in heads]
    store.sync(home)
    target = next(d for d in made if d.number.endswith("〕7号"))
    for query in ("青岩民不批2025年7号", "青岩民不批[2025]第07号", "不批〔2025〕7号", "青岩民不批（2025）7",
                  "青岩民不批2025年第７号"):
        hits = search(home, query).hits
        assert hits and hits[0].doc_id == target.doc_id, query
    assert search(home, "青岩民不批2025年7号").hits[0].snippet.count("【") >= 1


def test_snippet_skips_the_qr_caption_and_starts_at_a_word():
    body = ("Z109-0000012 第1页 SA1:Z109-0000012:1 最低生活保障申请不予批准告知书 青岩民不批〔2025〕7号 "
            "张三：你（户）提出的最低生活保障申请，经入户调查、家庭经济状况核对和审核，因家庭拥有机动车辆，决定不予批准。")
    text = snippet(body, ["机动车辆"])
    assert "Z109" not in text and "SA1" not in text and "【机动车辆】" in text
    after = text.lstrip("…")
    assert after[0] not in "，。、；：" and body.find(after.split("【")[0]) > 0
    noisy = "2109-000012 第1页 最低生活保障申请不予批准告知书"
    assert snippet(noisy, ["告知书"]).startswith("最低")


def test_an_index_of_the_old_schema_asks_for_a_rebuild(town):
    home, crafted, _, docs = town
    store.backend(home).set_version("1")
    with pytest.raises(ArchiveError, match="重建"):
        search(home, crafted[0].head.name)
    report = json.loads(run_cli("--home", str(home.root), "check-index", "--json").stdout)
    assert report["outdated"] is True and report["ok"] is False
    assert run_cli("--home", str(home.root), "reindex").exit_code == 0
    assert search(home, crafted[0].head.name).hits


def test_show_and_search_agree_where_a_signed_notice_and_its_original_are(town):
    import shutil

    from archive.catalog import record_files
    from archive.filing.month import file_month

    home, crafted, _, docs = town
    household = crafted[0]
    original = docs[household.head.name]
    # the signed paper came back (as ingest records a linked scan): its own PDF, the original's source
    scan_pdf = Path(original.pdf).with_name("signed-scan.pdf")
    shutil.copyfile(original.pdf, scan_pdf)
    home.db.execute(
        """INSERT INTO documents(doc_id, type, title, household_id, village, doc_date, number, request_key, params,
           context, body_text, pages, pdf_path, origin, source_doc, original_path)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        ("Z109-7000001", "refusal", original.title, household.head.id_number, household.village, DAY.isoformat(),
         original.number, "scan:x", "{}", "{}", "Z109-0000001 第1页 不予批准告知书 家庭拥有机动车辆 已签收", 1,
         str(scan_pdf.relative_to(home.root)), "scan", original.doc_id, str(scan_pdf.relative_to(home.root))))
    record_files(home.db, home.root, "Z109-7000001")
    file_month(home, MONTH)
    store.sync(home)
    shown = {d["doc_id"]: d for d in household_file(home, household.head.id_number)["documents"]}
    found = {h.doc_id: h for h in search(home, household.head.name).hits}
    assert set(shown) == set(found) == {original.doc_id, "Z109-7000001"}
    for doc_id in shown:
        assert shown[doc_id]["location"] == found[doc_id].location != "未归档", doc_id
        assert shown[doc_id]["path"] == found[doc_id].path and Path(found[doc_id].path).exists()
        assert shown[doc_id]["copy"] == found[doc_id].copy
    assert found["Z109-7000001"].copy == "签收件" and found[original.doc_id].copy == "原文书"
    assert "随签收件" in found[original.doc_id].location
    text = run_cli("--home", str(home.root), "show", household.head.id_number).stdout
    assert "（签收件）" in text and "（原文书）" in text and "文件：" in text


@pytest.mark.slow
def test_a_real_signed_scan_snippet_and_copies(home, head_id):
    """OCR of a signed notice: its snippet starts at a word, not in the QR caption; it is the
    签收件, its original the 原文书, and show and search give both the same place and file."""
    from archive.filing.month import file_month
    from archive.scans.ingest import Ingester
    from archive.scans.synthetic import Degradation
    from tests.scanfixtures import sealed_scan

    generated = Generator(home).household_document("refusal", head_id, DAY, {"reason": "家庭拥有机动车辆"})
    sealed_scan(generated.pdf, home.inbox_dir / "signed.jpg", Degradation(dpi=200, skew=1.0, noise=4, seal=True))
    [record] = Ingester(home).run([home.inbox_dir])
    assert record.status == "linked"
    file_month(home, MONTH)
    store.sync(home)
    hits = {h.doc_id: h for h in search(home, "机动车辆", household=head_id).hits}
    scan, original = hits[record.doc_id], hits[generated.doc_id]
    assert (scan.copy, original.copy) == ("签收件", "原文书")
    for text in (scan.snippet, original.snippet):
        assert "【机动车辆】" in text and generated.doc_id not in text and "SA1" not in text and "第1页" not in text
    shown = {d["doc_id"]: d for d in household_file(home, head_id)["documents"]}
    for hit in (scan, original):
        assert shown[hit.doc_id]["location"] == hit.location != "未归档"
        assert shown[hit.doc_id]["path"] == hit.path


def test_web_search_shows_a_household_with_no_document(tmp_path):
    from starlette.testclient import TestClient
    from webfixtures import ID_NUMBER, csrf, login, make_web_home, open_home

    from archive.web import create_app

    web = make_web_home(tmp_path)
    home = open_home(web)
    try:
        lonely = home.db.execute(
            "SELECT h.head_name, h.village, h.category FROM households h WHERE NOT EXISTS "
            "(SELECT 1 FROM documents d WHERE d.household_id = h.id) AND (SELECT count(*) FROM members m "
            "WHERE m.name = h.head_name) = 1 LIMIT 1").fetchone()
    finally:
        home.close()
    client = TestClient(create_app(web.root))
    assert login(client, web.user("inspector")).status_code == 303
    page = client.get(f"/api/search?q={lonely['head_name']}").json()
    assert page["hits"] == [] and len(page["households"]) == 1
    assert page["households"][0]["household_key"] and page["households"][0]["kind"] == "household"
    html = client.post("/search", data={"q": lonely["head_name"], "csrftoken": csrf(client)})
    assert html.status_code == 200
    assert f"花名册中有此户（{lonely['village']}，{lonely['category']}），暂无文书" in html.text
    assert not ID_NUMBER.search(html.text)


def test_nothing_found_is_exit_3(town):
    """No hit and no household: exit 3 (not found), nothing on stdout, the error on stderr
    (as JSON under --json), as every other not-found (docs/ARCHITECTURE.md, 退出码)."""
    home, *_ = town
    missing = "谭" + WRONG + WRONG
    text = run_cli("--home", str(home.root), "search", missing)
    assert text.exit_code == 3 and text.stdout == ""
    assert f"没有找到「{missing}」" in text.stderr
    result = run_cli("--home", str(home.root), "search", missing, "--json")
    assert result.exit_code == 3 and result.stdout == ""
    error = json.loads(result.stderr.splitlines()[-1])
    assert error["code"] == 3 and error["kind"] == "not_found" and f"没有找到「{missing}」" in error["error"]


def test_a_word_the_documents_print_is_not_a_misspelt_name(town):
    """A word one character off a member's name but printed in a document (a place, a phrase) is
    that word: its documents, exactly, and no 「近似」 documents of the member's household."""
    home, crafted, _, docs = town
    name = crafted[1].head.name  # 龚晓岚
    word = name[:2] + "风"
    home.db.execute(
        "INSERT INTO documents(doc_id, type, title, village, doc_date, request_key, params, context, body_text) "
        "VALUES (?,?,?,?,?,?,?,?,?)", ("Z109-9000009", "scan", "扫描件", "新关村", DAY.isoformat(), "Z109-9000009",
                                       "{}", "{}", f"经查，{word}一带的住户已全部走访。"))
    store.sync(home)
    result = search(home, word)
    assert [(h.doc_id, h.approximate) for h in result.hits] == [("Z109-9000009", False)]
    assert not result.households
    # not printed anywhere: the member's documents, as 「近似」
    other = search(home, name[:2] + WRONG)
    assert docs[name].doc_id in [h.doc_id for h in other.hits if h.approximate]


@pytest.fixture
def twins(tmp_path):
    """Two households whose heads' names differ in one character (龚晓岚, 龚晓霞), a refusal each."""
    township = sample.make_township(20, MONTH, seed=5)
    ids = sample._Ids(random.Random(43))
    ids.used = {m.id_number for h in township for m in h.members}
    pair = [_household(ids, "龚晓岚", "新关村", "阮绮雯"), _household(ids, "龚晓霞", "思潜村", "阎霁月")]
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES),
                    complaint_phone="0851-83200000", office_phone="0851-83200001")
    home = init_home(tmp_path / "home", config)
    import_roster(home.db, sample.write_roster_xlsx(township + pair, tmp_path / "roster.xlsx"), home.config, "tester")
    generator = Generator(home)
    docs = {h.head.name: generator.household_document("refusal", h.head.id_number, DAY, {"reason": "家庭拥有机动车辆"})
            for h in pair}
    store.sync(home)
    yield home, pair, docs
    home.close()


def test_a_misspelling_one_character_off_two_households_shows_both_and_says_so(twins):
    home, pair, docs = twins
    typo = "龚晓" + WRONG
    result = search(home, typo)
    assert {h.doc_id for h in result.hits} == {docs["龚晓岚"].doc_id, docs["龚晓霞"].doc_id}
    assert all(h.approximate for h in result.hits)
    assert sorted((n.name, n.household) for n in result.ambiguous) == sorted(
        (h.head.name, h.head.id_number) for h in pair)
    assert "花名册中没有「龚晓彧」，与 2 户成员的姓名只差一个字" in result.ambiguity
    assert "龚晓岚（新关村，户主龚晓岚）" in result.ambiguity and "龚晓霞（思潜村，户主龚晓霞）" in result.ambiguity
    text = run_cli("--home", str(home.root), "search", typo).stdout
    assert text.splitlines()[0].startswith("提示：花名册中没有「龚晓彧」")
    # the village filter leaves one candidate: nothing to warn about
    narrowed = search(home, typo, village="新关村")
    assert [h.doc_id for h in narrowed.hits] == [docs["龚晓岚"].doc_id] and not narrowed.ambiguous
    # an exact name is never ambiguous, though another name is one character off it
    assert not search(home, "龚晓岚").ambiguous


def test_a_misspelling_one_character_off_one_household_is_not_ambiguous(town):
    home, crafted, _, docs = town
    result = search(home, "龚晓" + WRONG)
    assert [h.doc_id for h in result.hits] == [docs["龚晓岚"].doc_id] and result.ambiguity == ""
