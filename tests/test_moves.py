"""Moving a filed document or household to another village says where the paper is and where it
belongs; the receiving household's file lists it with a cross-reference until it is re-boxed."""

import datetime as dt
import json

from archive.filing.month import file_month
from archive.filing.verify import verify
from tests.conftest import run_cli
from tests.test_filing import month  # noqa: F401  (fixture)

JULY = dt.date(2025, 7, 1)


def _filed(home, household_id):
    return home.db.execute(
        """SELECT d.*, b.box_no, b.village AS box_village, b.year AS box_year FROM documents d
           JOIN boxes b ON b.id=d.box_id WHERE d.household_id=? AND d.stamped_path IS NOT NULL
           ORDER BY d.item_no LIMIT 1""", (household_id,)).fetchone()


def test_moving_a_filed_document_to_another_village_says_where_the_paper_is(home, month, township):  # noqa: F811
    file_month(home, JULY)
    source = month["new"][0]
    row = _filed(home, source.head.id_number)
    other = next(h for h in township if h.village != row["box_village"] and h.status == "在保")
    paper = f"{row['box_year']}年 {row['box_village']} 第{row['box_no']}盒 第{row['item_no']:04d}件"
    result = run_cli("--home", str(home.root), "move", row["doc_id"], "--household", other.head.id_number,
                     "--reason", "归错户")
    assert result.exit_code == 0, result.stderr
    assert f"纸质件仍在 {paper}，应移入 {other.village}" in result.stdout
    # the receiving household's file lists it with a cross-reference to the box it is in
    shown = json.loads(run_cli("--home", str(home.root), "show", other.head.id_number, "--json").stdout)
    moved = next(d for d in shown["documents"] if d["doc_id"] == row["doc_id"])
    assert moved["cross_reference"].startswith(f"参见 {paper}")
    text = run_cli("--home", str(home.root), "show", other.head.id_number).stdout
    assert f"参见 {paper}" in text
    # the giving household no longer lists it; every file of the document went with it
    shown = json.loads(run_cli("--home", str(home.root), "show", source.head.id_number, "--json").stdout)
    assert row["doc_id"] not in {d["doc_id"] for d in shown["documents"]}
    after = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (row["doc_id"],)).fetchone()
    for column in ("pdf_path", "docx_path", "stamped_path"):
        assert after[column] and other.village in after[column] and (home.root / after[column]).exists()
        assert not (home.root / row[column]).exists()
    audit = json.loads(home.db.execute("SELECT detail FROM audit WHERE action='document.move'").fetchone()[0])
    assert audit["paper"] == paper and audit["belongs"] == other.village
    assert verify(home, check_usability=False).ok, verify(home, check_usability=False).report_zh()


def test_moving_within_the_village_needs_no_rebox(home, month, township):  # noqa: F811
    file_month(home, JULY)
    source = month["new"][0]
    row = _filed(home, source.head.id_number)
    neighbour = next(h for h in township if h.village == row["box_village"]
                     and h.head.id_number != source.head.id_number)
    result = run_cli("--home", str(home.root), "move", row["doc_id"], "--household", neighbour.head.id_number,
                     "--reason", "归错户")
    assert result.exit_code == 0 and "无需移盒" in result.stdout and "应移入" not in result.stdout
    shown = json.loads(run_cli("--home", str(home.root), "show", neighbour.head.id_number, "--json").stdout)
    assert next(d for d in shown["documents"] if d["doc_id"] == row["doc_id"])["cross_reference"] is None


def test_household_moving_village_lists_papers_left_behind(home, month, township):  # noqa: F811
    file_month(home, JULY)
    source = month["new"][0]
    row = _filed(home, source.head.id_number)
    village = next(v for v in home.config.villages if v != row["box_village"])
    result = run_cli("--home", str(home.root), "household", "move", source.head.id_number, "--village", village,
                     "--reason", "搬迁")
    assert result.exit_code == 0, result.stderr
    assert f"纸质件仍在 {row['box_village']} 的档案盒" in result.stdout and f"应移入 {village}" in result.stdout
    shown = json.loads(run_cli("--home", str(home.root), "show", source.head.id_number, "--json").stdout)
    filed = [d for d in shown["documents"] if d["archival_code"]]
    assert filed and all(d["cross_reference"].startswith(f"参见 {row['box_year']}年 {row['box_village']}") for d in filed)
    assert verify(home, check_usability=False).ok, verify(home, check_usability=False).report_zh()
