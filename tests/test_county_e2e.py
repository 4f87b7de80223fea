"""The issue's "Done when", as one real test (issue #15): a county home with three townships (one
keeping its catalog in PostgreSQL), roster import per township, generate, ingest through two OCR
workers serving the whole county (one killed mid-run, the three townships ingesting at once), file a
month, search across townships as an inspector, search as a township caseworker (sees only hers),
verify. Real PostgreSQL and Redis (tests/servers.py), real `archive worker` processes."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from countyfixtures import THREE, Township, add_township, import_roster, use_broker
from starlette.testclient import TestClient
from test_county_workers import ingest_with_one_worker_killed
from test_queue_workers import _scan
from webfixtures import PASSWORD, login

from archive.home import Home

pytestmark = pytest.mark.slow
SCANS = 4  # ID-card scans per township


def _lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_a_county_of_three_townships_end_to_end(tmp_path, postgres_url, redis_url, monkeypatch):
    root = tmp_path / "花溪区"
    townships = [Township(t.name, t.fonds, t.villages, t.seed) for t in THREE]
    for township in townships:
        if township.name == "青岩镇":  # this township's catalog (and index) in PostgreSQL
            monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
        add_township(root, township)
        monkeypatch.delenv("ARCHIVE_DATABASE_URL", raising=False)
        import_roster(root, township, tmp_path)
        use_broker(root, township, redis_url)
    assert Home(townships[0].folder(root)).catalog_target is not None
    assert Home(townships[1].folder(root)).catalog_target is None

    notices, scanned = {}, {}
    for township in townships:
        heads = [h for h in township.households if h.status == "在保"]
        result = run_cli("--home", str(root), "--township", township.name, "generate", "refusal", "--household",
                         heads[0].head.id_number, "--date", "2025-07-08", "--set",
                         "reason=家庭人均收入高于当地最低生活保障标准", "--set", "apply_date=2025-06-20", "--json")
        assert result.exit_code == 0, result.stderr
        notices[township.name] = _lines(result)[0] | {"head": heads[0].head}
        for index, household in enumerate(heads[1:SCANS + 1]):
            _scan(township.folder(root) / "scans" / f"身份证{index:02d}.png", household.head)
        scanned[township.name] = sorted(h.head.id_number for h in heads[1:SCANS + 1])

    # ingest: three townships at once through two workers of the county; w2 killed mid-run
    runs, outputs, _, _ = ingest_with_one_worker_killed(root, townships, redis_url, tmp_path, timeout=400)
    for township in townships:
        out, err = outputs[township.name]
        assert runs[township.name].returncode == 0, err
        records = [json.loads(line) for line in out.splitlines()]
        assert sorted((r["status"], r["household"]) for r in records) == [("filed", i) for i in scanned[township.name]]
        home = Home(township.folder(root))
        try:
            assert home.db.execute("SELECT count(*) FROM documents WHERE origin='scan'").fetchone()[0] == SCANS
        finally:
            home.close()

    # file the month in each township: its own 档号 and boxes
    for township in townships:
        result = run_cli("--home", str(root), "--township", township.name, "file-month", "2025-07", "--json")
        assert result.exit_code == 0, result.stderr
        assert township.fonds in result.stdout

    # accounts of the county: an inspector for all, a caseworker of one township
    for args in (("督查甲", "--role", "inspector"), ("经办人黔陶", "--role", "caseworker", "--township", "黔陶乡")):
        result = run_cli("--home", str(root), "user", "add", *args, "--password-stdin", "--json", input=PASSWORD + "\n")
        assert result.exit_code == 0, result.stderr
    from archive.web import create_app

    with TestClient(create_app(root)) as inspector, TestClient(create_app(root)) as caseworker:
        assert login(inspector, "督查甲").status_code == 303
        assert login(caseworker, "经办人黔陶").status_code == 303
        found = inspector.get("/api/search", params={"q": "不予批准", "limit": "50"}).json()
        assert {h["township"] for h in found["hits"]} == {t.name for t in townships}
        for township in townships:  # a scanned household of each township, by its ID number
            head = next(h.head for h in township.households if h.head.id_number == scanned[township.name][0])
            hits = inspector.get("/api/search", params={"q": head.id_number}).json()["hits"]
            assert hits and {h["township"] for h in hits} == {township.name}
        found = caseworker.get("/api/search", params={"q": "不予批准", "limit": "50"}).json()
        assert found["hits"] and {h["township"] for h in found["hits"]} == {"黔陶乡"}
        other = notices["青岩镇"]["head"]
        assert caseworker.get("/api/search", params={"q": other.id_number}).json()["hits"] == []
        assert caseworker.get("/api/search", params={"q": "x", "township": "青岩镇"}).status_code == 403

    checked = run_cli("--home", str(root), "verify", "--json")
    results = _lines(checked)
    assert checked.exit_code == 0, checked.output
    assert [(r["level"], r["township"]) for r in results] == [
        ("county", None), ("township", "青岩镇"), ("township", "黔陶乡"), ("township", "马铃乡")]
    assert all(r["ok"] for r in results)
