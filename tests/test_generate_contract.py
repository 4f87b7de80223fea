"""The command-line contract of issue #14: `archive generate TYPE --village V [--status S]
[--category C] [--date D] [--json]` (or several --household) generates a batch: one JSON object
per document, then the merged PDF's path, the counterfoils in a PDF of their own; a month's
花名册 and 统计表 generated without --date are dated at the end of the month."""

from __future__ import annotations

import json
from pathlib import Path

import pypdf
from conftest import run_cli

from archive.documents.batch import STUB_MARK
from archive.roster.households import list_households


def _text(path: str | Path) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages]


def test_generate_by_village_and_status_is_a_batch_with_the_counterfoils_apart(home):
    village = next(h.village for h in list_households(home.db) if h.status == "active")
    expected = [h for h in list_households(home.db, village) if h.status == "active" and h.category == "低保"]
    assert len(expected) >= 2
    result = run_cli("--home", str(home.root), "generate", "suspension", "--village", village, "--status", "active",
                     "--category", "低保", "--date", "2025-07-20", "--set", "reason=家庭收入超过当地最低生活保障标准",
                     "--json")
    assert result.exit_code == 0, result.output
    *documents, batch = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [d["household"] for d in documents] == [h.id for h in expected]
    assert all(d["type"] == "suspension" and d["number"].startswith("青岩民停发") and Path(d["pdf"]).is_file()
               for d in documents)
    assert batch["batch"] is True and batch["made"] == len(expected) and batch["failed"] == 0
    merged, stubs = _text(batch["pdf"]), _text(batch["stubs_pdf"])
    assert Path(batch["pdf"]).parent == home.root / "batches"
    # the notices without their counterfoils, the counterfoils in their own PDF, in the same order
    assert not any(STUB_MARK in page for page in merged)
    assert len(stubs) == batch["stub_pages"] == len(expected) and all(STUB_MARK in page for page in stubs)
    for document, page in zip(documents, stubs, strict=True):
        assert document["number"] in page
    assert len(merged) == batch["pages"] == sum(d["pages"] for d in documents) - len(expected)
    registered = {row["path"] for row in home.db.execute("SELECT path FROM outputs WHERE kind='批量打印'")}
    assert {str(Path(batch[k]).relative_to(home.root)) for k in ("pdf", "stubs_pdf")} <= registered
    verified = run_cli("--home", str(home.root), "verify", "--json")
    assert "unknown_file" not in verified.stdout and "未登记" not in verified.stdout


def test_several_households_make_a_batch_and_one_stays_single(home):
    first, second = [h for h in list_households(home.db) if h.status == "active"][:2]
    result = run_cli("--home", str(home.root), "generate", "authorization", "--household", first.id,
                     "--household", second.id, "--date", "2025-07-10", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line.get("household") for line in lines[:2]] == [first.id, second.id]
    assert lines[-1]["batch"] is True and lines[-1]["stubs_pdf"] is None and Path(lines[-1]["pdf"]).is_file()
    single = run_cli("--home", str(home.root), "generate", "authorization", "--household", first.id,
                     "--date", "2025-07-11", "--json")
    assert single.exit_code == 0, single.output
    (line,) = [json.loads(line) for line in single.stdout.strip().splitlines()]
    assert line["household"] == first.id and "batch" not in line


def test_batch_only_options_are_refused_outside_a_batch(home):
    head = next(h for h in list_households(home.db) if h.status == "active")
    result = run_cli("--home", str(home.root), "generate", "authorization", "--household", head.id,
                     "--status", "active")
    assert result.exit_code == 2 and "批量生成" in result.stderr
    signed = run_cli("--home", str(home.root), "generate", "refusal", "--village", head.village, "--sign",
                     "--approver", "王明", "--set", "reason=x")
    assert signed.exit_code == 2 and "批量生成不能签章" in signed.stderr


def test_the_month_roster_is_dated_at_the_end_of_its_month(home):
    result = run_cli("--home", str(home.root), "generate", "roster", "--month", "2025-07", "--json")
    assert result.exit_code == 0, result.output
    sheets = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [s["type"] for s in sheets] == ["roster", "statistics"]
    for sheet in sheets:
        row = home.db.execute("SELECT doc_date FROM documents WHERE doc_id=?", (sheet["doc_id"],)).fetchone()
        assert row["doc_date"] == "2025-07-31"
        assert Path(sheet["xlsx"]).name.startswith("20250731-2025年7月")
