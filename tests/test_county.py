"""A county home: one deployment, many townships (issue #15, docs/COUNTY.md), end to end through
the real CLI and the web application: three townships, each with its own 全宗号, villages,
文号, 档号 and boxes; roster import, generate, ingest (local pool), file a month, search across
townships as an inspector and within one as a township's caseworker, verify, backup and restore.
The same sentence with OCR workers serving the whole county (one killed mid-run) and a township on
PostgreSQL: tests/test_county_e2e.py."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import run_cli
from scanfixtures import text_pdf
from starlette.testclient import TestClient
from webfixtures import PASSWORD, csrf, login

from archive import sample
from archive.errors import ExitCode

MONTH = dt.date(2025, 7, 1)
# name, 全宗号, villages (each township's own), seed of its sample households
TOWNSHIPS = [("青岩镇", "Z109", ["龙井村", "思潜村", "新关村", "杨眉村", "北街社区"], 3),
             ("黔陶乡", "Z110", ["骑龙村", "老中寨村", "半坡村", "谷洒村", "黔陶社区"], 5),
             ("马铃乡", "Z111", ["谷中村", "凯坝村", "马铃村", "乐榜村", "马铃社区"], 8)]


@dataclass
class Township:
    name: str
    fonds: str
    villages: list[str]
    head_id: str = ""
    head_name: str = ""
    member_id: str = ""
    member_name: str = ""
    head_village: str = ""
    notice: dict = field(default_factory=dict)
    scan: dict = field(default_factory=dict)


def cli(root: Path, *args: str, township: str | None = None):
    prefix = ["--home", str(root)] + (["--township", township] if township else [])
    return run_cli(*prefix, *args)


def json_lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _roster(township: Township, folder: Path) -> Path:
    """The sample roster, rewritten as this township's (its name and villages in every row)."""
    households = sample.make_township(8, MONTH, seed=next(s for n, _, _, s in TOWNSHIPS if n == township.name),
                                      applicants=1)
    for household in households:
        household.village = township.villages[sample.VILLAGES.index(household.village)]
    chosen = next(h for h in households if h.status == "在保" and len(h.members) >= 2)
    township.head_id, township.head_name, township.head_village = chosen.head.id_number, chosen.head.name, chosen.village
    township.member_id, township.member_name = chosen.members[1].id_number, chosen.members[1].name
    path = sample.write_roster_csv(households, folder / f"{township.name}-花名册.csv")
    path.write_text(path.read_text(encoding="utf-8-sig").replace(sample.TOWNSHIP, township.name), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """Three townships made with `archive township add`, each worked through one month."""
    folder = tmp_path_factory.mktemp("county")
    root = folder / "花溪区"
    townships = [Township(name, fonds, villages) for name, fonds, villages, _ in TOWNSHIPS]
    for township in townships:
        result = cli(root, "township", "add", township.name, "--county", "花溪区", "--fonds", township.fonds,
                     "--villages", ",".join(township.villages), "--operator", "王敏", "--json")
        assert result.exit_code == 0, result.stderr
    for township in townships:
        result = cli(root, "roster", "import", str(_roster(township, folder)), "--json", township=township.name)
        assert result.exit_code == 0, result.stderr
        result = cli(root, "generate", "refusal", "--household", township.head_id, "--date", "2025-07-08",
                     "--set", "reason=家庭人均收入高于当地最低生活保障标准", "--set", "apply_date=2025-06-20",
                     "--json", township=township.name)
        assert result.exit_code == 0, result.stderr
        township.notice = json_lines(result)[0]
        inbox = root / "townships" / township.name / "scans"
        text_pdf(inbox / "户口簿.pdf", ["常住人口登记卡", f"姓名 {township.member_name}", f"公民身份号码 {township.member_id}",
                                      "户主或与户主关系 子"])
        # ARCHIVE_TOWNSHIP picks the township as --township does
        result = _with_env(root, township.name, "ingest", "--engine", "fake", "--json")
        assert result.exit_code == 0, result.stderr
        (township.scan,) = json_lines(result)
        result = cli(root, "file-month", "2025-07", "--json", township=township.name)
        assert result.exit_code == 0, result.stderr
    for args in (("user", "add", "督查甲", "--role", "inspector"), ("user", "add", "管理员甲", "--role", "admin"),
                 ("user", "add", "经办人青岩", "--role", "caseworker", "--township", "青岩镇"),
                 ("user", "add", "经办人黔陶", "--role", "caseworker", "--township", "黔陶"),
                 ("user", "add", "管理员马铃", "--role", "admin", "--township", "马铃乡")):
        result = run_cli("--home", str(root), *args, "--password-stdin", "--json", input=PASSWORD + "\n")
        assert result.exit_code == 0, result.stderr
    return root, townships


def _with_env(root: Path, township: str, *args: str):
    from click.testing import CliRunner

    from archive.cli import cli as archive_cli

    return CliRunner().invoke(archive_cli, ["--home", str(root), *args], env={"ARCHIVE_TOWNSHIP": township},
                              catch_exceptions=False)


# --- the command line ---------------------------------------------------------------------------

@pytest.mark.slow
def test_each_township_keeps_its_own_fonds_numbers_and_archival_codes(county):
    root, townships = county
    listed = json_lines(cli(root, "township", "list", "--json"))
    assert [(t["township"], t["fonds"]) for t in listed] == [(t.name, t.fonds) for t in townships]
    for township in townships:
        # its own 文号 sequence (each township's first refusal) with its own office code
        assert township.notice["number"].startswith(township.name[:2]) and "1号" in township.notice["number"]
        assert township.notice["doc_id"].startswith(township.fonds + "-")
        assert township.scan["status"] == "filed" and township.scan["household"] == township.head_id
        shown = json.loads(cli(root, "show", township.head_id, "--json", township=township.name).stdout)
        codes = [d["archival_code"] for d in shown["documents"] if d.get("archival_code")]
        assert codes and all(code.startswith(township.fonds + "-") for code in codes), codes
        # another township does not know this household
        other = next(t for t in townships if t is not township)
        result = cli(root, "show", township.head_id, "--json", township=other.name)
        assert result.exit_code == ExitCode.NOT_FOUND


@pytest.mark.slow
def test_a_command_on_a_county_home_needs_a_township(county):
    root, townships = county
    result = cli(root, "village", "list")
    assert result.exit_code == ExitCode.USAGE
    assert all(t.name in result.stderr for t in townships) and "--township" in result.stderr
    result = cli(root, "village", "list", "--json")
    assert json.loads(result.stderr.strip().splitlines()[-1])["kind"] == "usage"
    result = cli(root, "village", "list", township="不存在乡")
    assert result.exit_code == ExitCode.USAGE and "不存在乡" in result.stderr
    # --township after the command's name works as well, and a short name (黔陶 for 黔陶乡)
    result = run_cli("--home", str(root), "village", "list", "--township", "黔陶", "--json")
    assert [v["village"] for v in json_lines(result)] == townships[1].villages


@pytest.mark.slow
def test_search_across_townships_and_within_one(county):
    root, townships = county
    first, second, _ = townships
    # no --township: every township's index, each hit labelled with its township
    hits = json_lines(cli(root, "search", "不予批准", "--limit", "50", "--json"))
    assert {hit["township"] for hit in hits} == {t.name for t in townships}
    hits = json_lines(cli(root, "search", second.head_name, "--json"))
    assert hits and {hit["township"] for hit in hits if hit["household"] == second.head_id} == {second.name}
    text = cli(root, "search", second.head_name)
    assert f"【{second.name}】" in text.stdout
    # --township narrows to one
    hits = json_lines(cli(root, "search", "不予批准", "--township", first.name, "--limit", "50", "--json"))
    assert hits and {hit["township"] for hit in hits} == {first.name}
    result = cli(root, "search", second.head_id, "--township", first.name, "--json")
    assert result.exit_code == ExitCode.NOT_FOUND
    # a village filter applies to the township that has the village
    hits = json_lines(cli(root, "search", "", "--village", second.head_village, "--json"))
    assert hits and {hit["township"] for hit in hits} == {second.name}


@pytest.mark.slow
def test_users_of_a_county_are_scoped_to_townships(county):
    root, _ = county
    users = {u["name"]: u for u in json_lines(run_cli("--home", str(root), "user", "list", "--json"))}
    assert users["经办人黔陶"]["township"] == "黔陶乡" and users["督查甲"]["township"] is None
    # a county's caseworker must belong to a township, and to one that exists
    result = run_cli("--home", str(root), "user", "add", "经办人无乡", "--role", "caseworker", "--password-stdin",
                     input=PASSWORD + "\n")
    assert result.exit_code == ExitCode.USAGE and "乡镇" in result.stderr
    result = run_cli("--home", str(root), "user", "add", "经办人乙", "--role", "caseworker", "--township", "火星乡",
                     "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == ExitCode.USAGE and "火星乡" in result.stderr


@pytest.mark.slow
def test_verify_backup_and_restore_of_the_whole_county(county, tmp_path):
    root, townships = county
    for township in townships:
        result = cli(root, "verify", "--json", township=township.name)
        assert result.exit_code == 0, result.stdout
    backup_dir = tmp_path / "备份"
    result = cli(root, "backup", str(backup_dir), "--json")
    assert result.exit_code == 0, result.stderr
    manifest = (backup_dir / "MANIFEST.sha256").read_text(encoding="utf-8")
    for township in townships:
        assert f"  townships/{township.name}/catalog.sqlite\n" in manifest
    info = json.loads((backup_dir / "BACKUP.json").read_text(encoding="utf-8"))
    assert info["county"] == "花溪区" and [t["fonds"] for t in info["townships"]] == [t.fonds for t in townships]
    restored = tmp_path / "恢复"
    result = run_cli("restore", str(backup_dir), "--home", str(restored), "--json")
    assert result.exit_code == 0, result.stderr
    for township in townships:
        result = cli(restored, "verify", "--json", township=township.name)
        assert result.exit_code == 0, result.stdout
        assert json.loads(result.stdout)["ok"] is True
    hits = json_lines(cli(restored, "search", "不予批准", "--limit", "50", "--json"))
    assert {hit["township"] for hit in hits} == {t.name for t in townships}
    # verify without --township: the county's own audit log, then every township
    result = cli(restored, "verify", "--quick", "--json")
    assert result.exit_code == 0 and [r["township"] for r in json_lines(result)] == [None] + [
        t.name for t in townships]  # stable values; the county level says so in "level"
    assert [(r["level"], r["county"]) for r in json_lines(result)] == [("county", "花溪区")] + [
        ("township", "花溪区")] * len(townships)
    assert "== 花溪区（县级） ==" in cli(restored, "verify", "--quick").stdout  # the human label stays
    # an account's creation altered in the county's audit log is found
    with sqlite3.connect(restored / "catalog.sqlite") as conn:
        conn.execute("UPDATE audit SET detail=replace(detail, 'caseworker', 'admin') WHERE action='user.add'")
    result = cli(restored, "verify", "--quick", "--json")
    assert result.exit_code == ExitCode.PROBLEMS
    assert [r["ok"] for r in json_lines(result)] == [False, True, True, True]
    # one township's file changed in the backup: nothing is restored
    tampered = tmp_path / "备份-改动"
    shutil.copytree(backup_dir, tampered)
    pdf = next((tampered / "townships" / townships[2].name / "documents").rglob("*.pdf"))
    pdf.write_bytes(pdf.read_bytes() + b"%")
    result = run_cli("restore", str(tampered), "--home", str(tmp_path / "恢复2"))
    assert result.exit_code != 0 and "摘要值与备份清单不符" in result.stderr
    assert not (tmp_path / "恢复2").exists()


# --- the web application ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def county_app(county):
    from archive.web import create_app

    return create_app(county[0])


def _client(app, name: str) -> TestClient:
    client = TestClient(app)
    assert login(client, name).status_code == 303
    return client


def _api_search(client: TestClient, query: str, **params) -> dict:
    response = client.get("/api/search", params={"q": query, "limit": "50", **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
def test_inspector_searches_every_township_and_opens_any_household(county, county_app):
    _, townships = county
    inspector = _client(county_app, "督查甲")
    found = _api_search(inspector, "不予批准")
    assert {hit["township"] for hit in found["hits"]} == {t.name for t in townships}
    for township in townships:
        found = _api_search(inspector, township.head_name)
        hit = next(h for h in found["hits"] if h["household"] == township.head_id)
        assert hit["township"] == township.name and hit["household_key"]
        response = inspector.get(f"/api/households/{hit['household_key']}")
        assert response.status_code == 200 and response.json()["household"] == township.head_id
        assert inspector.get(f"/documents/{township.notice['doc_id']}").status_code == 200
    # filtered to one township
    found = _api_search(inspector, "不予批准", township=townships[1].name)
    assert found["hits"] and {hit["township"] for hit in found["hits"]} == {townships[1].name}
    # the search page offers the townships and labels each group
    page = inspector.post("/search", data={"q": townships[2].head_name, "csrftoken": csrf(inspector)})
    assert page.status_code == 200 and f"【{townships[2].name}】" in page.text
    assert '<select name="township">' in page.text
    # the picker: the pages work in the township picked
    assert inspector.get("/township", params={"name": townships[2].name}, follow_redirects=False).status_code == 303
    page = inspector.get("/households")
    assert page.status_code == 200 and townships[2].villages[0] in page.text


@pytest.mark.slow
def test_township_caseworker_sees_only_her_township(county, county_app):
    _, townships = county
    own, other = townships[0], townships[1]
    inspector = _client(county_app, "督查甲")
    other_key = next(h for h in _api_search(inspector, other.head_name)["hits"]
                     if h["household"] == other.head_id)["household_key"]
    own_key = next(h for h in _api_search(inspector, own.head_name)["hits"]
                   if h["household"] == own.head_id)["household_key"]

    caseworker = _client(county_app, "经办人青岩")
    me = caseworker.get("/api/me").json()
    assert me["township"] == own.name
    found = _api_search(caseworker, "不予批准")
    assert found["hits"] and {hit["township"] for hit in found["hits"]} == {own.name}
    assert all(hit["doc_id"].startswith(own.fonds + "-") for hit in found["hits"])
    # another township's household: by name, by ID number, by key, by document
    assert not [h for h in _api_search(caseworker, other.head_name)["hits"] if h["household"] == other.head_id]
    assert caseworker.get("/api/search", params={"q": other.head_id}).json()["hits"] == []
    assert caseworker.get(f"/api/households/{other_key}").status_code == 404
    assert caseworker.get(f"/households/{other_key}").status_code == 404
    assert caseworker.get(f"/documents/{other.notice['doc_id']}").status_code == 404
    assert caseworker.get(f"/api/documents/{other.notice['doc_id']}/pdf").status_code == 404
    assert caseworker.get("/api/search", params={"q": "不予批准", "township": other.name}).status_code == 403
    assert caseworker.get("/township", params={"name": other.name}).status_code == 403
    # her own township's work as before
    assert caseworker.get(f"/api/households/{own_key}").status_code == 200
    assert caseworker.get(f"/documents/{own.notice['doc_id']}").status_code == 200


@pytest.mark.slow
def test_accounts_are_managed_by_the_county(county, county_app):
    _, townships = county
    admin = _client(county_app, "管理员甲")
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "经办人黔陶" in page.text and "黔陶乡" in page.text
    response = admin.post("/admin/users", data={"name": "档案员马铃", "role": "archivist", "township": "马铃乡",
                                                 "password": PASSWORD, "password2": PASSWORD,
                                                 "csrftoken": csrf(admin)}, follow_redirects=False)
    assert response.status_code == 303
    archivist = _client(county_app, "档案员马铃")
    assert archivist.get("/api/me").json()["township"] == "马铃乡"
    # an administrator limited to one township does not manage the county's accounts
    township_admin = _client(county_app, "管理员马铃")
    assert township_admin.get("/admin/users").status_code == 403


# --- quick checks: names, a township home unchanged -----------------------------------------------

@pytest.mark.parametrize("name", ["../青岩镇", "青岩/镇", ".hidden", "  ", "镇\x00", "乡" * 31])
def test_unusable_township_names_are_refused_before_anything_is_made(tmp_path, name):
    root = tmp_path / "县"
    result = run_cli("--home", str(root), "township", "add", name, "--county", "花溪区", "--fonds", "Z109",
                     "--villages", "龙井村")
    assert result.exit_code == ExitCode.BAD_INPUT and "乡镇" in result.stderr
    assert not root.exists()


def test_township_add_refuses_a_township_home_and_a_second_county(tmp_path):
    single = tmp_path / "乡镇"
    assert run_cli("--home", str(single), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                   "--villages", "龙井村", "--operator", "王敏").exit_code == 0
    result = run_cli("--home", str(single), "township", "add", "黔陶乡", "--county", "花溪区", "--fonds", "Z110")
    assert result.exit_code == ExitCode.CONFLICT and "不是县级档案库" in result.stderr
    root = tmp_path / "县"
    assert run_cli("--home", str(root), "township", "add", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                   "--villages", "龙井村").exit_code == 0
    result = run_cli("--home", str(root), "township", "add", "黔陶乡", "--county", "乌当区", "--fonds", "Z110")
    assert result.exit_code != 0 and "花溪区" in result.stderr
    result = run_cli("--home", str(root), "township", "add", "青岩镇", "--county", "花溪区", "--fonds", "Z120")
    assert result.exit_code == ExitCode.CONFLICT and "已有乡镇" in result.stderr
    # one township: commands need no --township
    result = run_cli("--home", str(root), "village", "list", "--json")
    assert result.exit_code == 0 and json_lines(result) == [{"village": "龙井村"}]


def test_a_township_home_works_unchanged_and_refuses_another_townships_name(tmp_path):
    single = tmp_path / "乡镇"
    assert run_cli("--home", str(single), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                   "--villages", "龙井村", "--operator", "王敏").exit_code == 0
    assert run_cli("--home", str(single), "village", "list", "--township", "青岩镇").exit_code == 0
    result = run_cli("--home", str(single), "--township", "黔陶乡", "village", "list")
    assert result.exit_code == ExitCode.USAGE and "黔陶乡" in result.stderr
    result = run_cli("--home", str(single), "user", "add", "经办人甲", "--role", "caseworker", "--password-stdin",
                     "--json", input=PASSWORD + "\n")
    assert result.exit_code == 0 and "township" in json.loads(result.stdout) and json.loads(result.stdout)["township"] is None
    result = run_cli("--home", str(single), "user", "add", "经办人乙", "--role", "caseworker", "--township", "黔陶乡",
                     "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == ExitCode.USAGE
