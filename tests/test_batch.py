"""Batches: the same document for many households, one merged PDF with a bookmark per household;
one bad household never stops the others; a batch run again numbers nothing twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pypdf
import pytest
from conftest import run_cli

from archive.documents.batch import generate_batch, select_households
from archive.errors import ArchiveError
from archive.roster.households import list_households

DAY = dt.date(2025, 7, 10)


def numbered(home) -> int:
    return home.db.execute("SELECT count(*) FROM documents WHERE number IS NOT NULL").fetchone()[0]


def test_batch_merges_one_pdf_with_bookmarks_and_reports_a_bad_household(home):
    households = [h for h in list_households(home.db) if h.status == "active"][:3]
    ghost = dataclasses.replace(households[0], id="520111199001011234", head_name="查无此人")
    before = numbered(home)
    result = generate_batch(home, "confirmation", [households[0], ghost, *households[1:]], DAY)
    assert [item.household for item in result.items] == [households[0].id, ghost.id, households[1].id, households[2].id]
    assert len(result.made) == 3 and len(result.failed) == 1
    assert result.failed[0].household == ghost.id and "找不到" in result.failed[0].error
    assert numbered(home) == before + 3
    numbers = [item.number for item in result.made]
    assert len(set(numbers)) == 3 and all(n.startswith("青岩民") for n in numbers)
    pdf = Path(result.pdf)
    assert pdf.parent == home.root / "batches"
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == result.pages == sum(item.pages for item in result.made)
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles == [f"{i.name}户（{i.village}）{i.number}" for i in result.made]
    text = reader.pages[0].extract_text()
    assert households[0].head_name in text
    registered = home.db.execute("SELECT kind FROM outputs WHERE path=?", (str(pdf.relative_to(home.root)),)).fetchone()
    assert registered["kind"] == "批量打印"
    row = home.db.execute("SELECT operator, detail FROM audit WHERE action='document.batch' ORDER BY id DESC").fetchone()
    detail = json.loads(row["detail"])
    assert detail["made"] == 3 and detail["failed_households"] == [ghost.id]

    again = generate_batch(home, "confirmation", households, DAY)
    assert all(item.reprinted for item in again.made) and [i.number for i in again.made] == numbers
    assert numbered(home) == before + 3  # nothing numbered twice
    assert again.pdf != result.pdf and Path(result.pdf).is_file()  # the first print is kept


def test_select_households_by_village_category_status_and_decision_dates(home):
    everyone = list_households(home.db)
    village = everyone[0].village
    in_village = select_households(home, village=village)
    assert in_village and {h.village for h in in_village} == {village}
    active = select_households(home, status="active")
    assert active and all(h.status == "active" for h in active)
    dated = [h for h in everyone if h.status == "active" and h.start_date]
    start = dt.date.fromisoformat(dated[0].start_date)
    decided = select_households(home, decided_from=start, decided_to=start)
    assert dated[0].id in {h.id for h in decided}
    assert all(h.start_date == start.isoformat() for h in decided)
    with pytest.raises(ArchiveError, match="不在本乡镇"):
        select_households(home, village="不存在村")
    with pytest.raises(ArchiveError, match="同时给出"):
        select_households(home, decided_from=start)
    with pytest.raises(ArchiveError, match="没有符合条件的家庭"):
        generate_batch(home, "confirmation", [], DAY)
    with pytest.raises(ArchiveError, match="不能批量生成"):
        generate_batch(home, "publicity", everyone[:1], DAY)


def test_cli_generate_batch_json_and_refused_output(home, tmp_path):
    households = [h for h in list_households(home.db) if h.status == "active"][:2]
    out = tmp_path / "打印.pdf"
    args = ["--home", str(home.root), "generate-batch", "authorization", "--date", "2025-07-10",
            "--household", households[0].id, "--household", households[1].id, "--out", str(out), "--json"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == 3  # one object per document, then the merged PDF
    *documents, payload = lines
    assert payload["batch"] is True and payload["made"] == 2 and payload["failed"] == 0 and payload["pdf"] == str(out)
    assert [item["household"] for item in documents] == [h.id for h in households]
    assert all(Path(item["pdf"]).is_file() and item["number"] is None and item["doc_id"] for item in documents)
    assert payload["stubs_pdf"] is None  # an authorization has no counterfoil
    assert len(pypdf.PdfReader(out).pages) == payload["pages"]
    before = home.db.execute("SELECT count(*) FROM documents").fetchone()[0]
    refused = run_cli(*args)  # the same --out again: refused before anything is generated
    assert refused.exit_code != 0 and "已存在" in json.loads(refused.stderr.strip().splitlines()[-1])["error"]
    assert home.db.execute("SELECT count(*) FROM documents").fetchone()[0] == before


def test_cli_batch_of_approval_notices_skips_households_without_a_decision(home):
    """确认通知书 for a village: an applicant with no 审核确认表 is skipped with the reason (the
    plan the web shows), the others get a notice."""
    everyone = list_households(home.db)
    village = next(h.village for h in everyone if h.status == "applicant")
    waiting = [h.id for h in everyone if h.village == village and h.status == "applicant"]
    others = [h.id for h in everyone if h.village == village and h.status != "applicant"]
    result = run_cli("--home", str(home.root), "generate-batch", "confirmation", "--village", village,
                     "--date", "2025-07-10", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    payload = lines[-1]
    assert payload["batch"] is True
    assert sorted(s["household"] for s in payload["skipped"]) == sorted(waiting)
    assert all("尚无审批决定" in s["reason"] for s in payload["skipped"])
    assert sorted(item["household"] for item in lines[:-1]) == sorted(others)
