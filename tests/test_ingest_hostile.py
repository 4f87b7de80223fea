"""An inbox that no file can block or bomb (issue 10): every hostile file in one run together
with good scans; memory bounded on the bombs; kills repaired by the next run."""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from archive.catalog import FILE_COLUMNS
from archive.scans import ingest as ingest_module
from archive.scans.ingest import Ingester
from archive.scans.names import readable_path, stored_name
from archive.scans.staging import StagingArea
from tests.conftest import run_cli
from tests.scanfixtures import (
    blank_pages_pdf,
    huge_page_pdf,
    owner_password_pdf,
    text_pages_pdf,
    text_pdf,
)

LONG_NAME = "关于" + "青岩镇龙井村最低生活保障对象家庭经济状况核对结果的" * 3 + "补充说明"  # 80 characters


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def id_card(path: Path, household) -> Path:
    return text_pdf(path, ["居民身份证", f"公民身份号码 {household.head.id_number}"])


def stored_files(home) -> set[str]:
    return {str(p.relative_to(home.root)) for p in home.documents_dir.rglob("*") if p.is_file()}


def recorded_files(home) -> set[str]:
    rows = home.db.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM documents").fetchall()
    return {row[c] for row in rows for c in FILE_COLUMNS if row[c]}


def _keep_writing(path: Path, stop: threading.Event) -> None:
    with open(path, "ab") as handle:
        while not stop.is_set():
            handle.write(b"%PDF-1.4 partial scan data\n" * 50)
            handle.flush()
            time.sleep(0.05)


def test_every_hostile_file_in_one_run_with_good_scans(home, township):
    inbox = home.inbox_dir
    good = [id_card(inbox / f"good{i}.pdf", township[i]) for i in range(2)]
    gbk = os.path.join(os.fsencode(inbox), "户口本扫描".encode("gbk") + b".pdf")
    Path(os.fsdecode(gbk)).write_bytes(id_card(inbox.parent / "x.pdf", township[2]).read_bytes())
    gbk_bad = os.path.join(os.fsencode(inbox), "损坏的文件".encode("gbk") + b".pdf")
    Path(os.fsdecode(gbk_bad)).write_bytes(b"%PDF-1.4\n" + os.urandom(2000) + b"\n%%EOF\n")
    long_bad = inbox / f"{LONG_NAME}.pdf"
    long_bad.write_bytes(b"%PDF-1.4\n" + os.urandom(2000) + b"\n%%EOF\n")
    assert len(f"{long_bad.name}.原因.txt".encode()) + 9 > 255  # the old quarantine name could not exist
    (inbox / "passwd.pdf").symlink_to("/etc/passwd")
    os.mkfifo(inbox / "pipe.pdf")  # opening it would block for ever
    hidden = inbox / ".~扫描临时文件.pdf"
    hidden.write_bytes(b"scanner temp")
    twin = id_card(inbox / "twin.pdf", township[3])
    (inbox / "twin-copy.tif").write_bytes(twin.read_bytes())  # the same bytes, another extension
    owner_password_pdf(id_card(inbox.parent / "y.pdf", township[4]), inbox / "locked.pdf")
    blank_pages_pdf(inbox / "blank1000.pdf", 1000)
    huge_page_pdf(inbox / "huge-page.pdf")
    growing = inbox / "still-scanning.pdf"
    stop = threading.Event()
    writer = threading.Thread(target=_keep_writing, args=(growing, stop))
    writer.start()
    time.sleep(0.2)
    entries = {readable_path(inbox / os.fsdecode(name)) for name in os.listdir(os.fsencode(inbox))}
    try:
        result = run_cli("--home", str(home.root), "ingest", "--json")
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.stderr
    records = {r["source"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == entries  # every entry of the inbox is reported, once
    by_name = {Path(source).name: r for source, r in records.items()}

    assert all(by_name[p.name]["status"] == "filed" for p in good) and not any(p.exists() for p in good)
    assert by_name["户口本扫描.pdf"]["status"] == "filed"  # a GBK name, read as GBK
    assert by_name["户口本扫描.pdf"]["name_bytes"] == repr("户口本扫描".encode("gbk") + b".pdf")
    assert by_name["损坏的文件.pdf"]["status"] == "quarantined"
    assert by_name[long_bad.name]["status"] == "quarantined" and "损坏" in by_name[long_bad.name]["reason"]
    assert by_name["passwd.pdf"]["status"] == "refused" and "符号链接" in by_name["passwd.pdf"]["reason"]
    assert by_name[hidden.name]["status"] == "ignored" and hidden.exists()
    assert by_name["pipe.pdf"]["status"] == "refused" and "不是普通文件" in by_name["pipe.pdf"]["reason"]
    assert sorted(by_name[n]["status"] for n in ("twin.pdf", "twin-copy.tif")) == ["duplicate", "filed"]
    assert by_name["locked.pdf"]["status"] == "quarantined" and "权限密码" in by_name["locked.pdf"]["reason"]
    assert by_name["blank1000.pdf"]["status"] == "quarantined" and "页数过多" in by_name["blank1000.pdf"]["reason"]
    assert by_name["huge-page.pdf"]["status"] == "quarantined" and "过大" in by_name["huge-page.pdf"]["reason"]
    assert by_name[growing.name]["status"] == "waiting" and "等待写入完成" in by_name[growing.name]["reason"]
    assert growing.exists()

    # quarantined: kept with a readable reason file; the GBK name's bytes kept as well
    kept = {p.name: p for p in (home.root / "quarantine").rglob("*") if p.is_file()}
    long_kept = [p for name, p in kept.items() if name.startswith(by_name[long_bad.name]["sha256"][:8])
                 and name.endswith(".pdf")]
    assert len(long_kept) == 1 and sha(long_kept[0]) == by_name[long_bad.name]["sha256"]
    long_reason = kept[long_kept[0].name + ".原因.txt"].read_text(encoding="utf-8")
    assert LONG_NAME in long_reason and "损坏" in long_reason
    gbk_reason = next(p for name, p in kept.items() if "损坏的文件" in name and name.endswith(".原因.txt"))
    assert "原始字节" in gbk_reason.read_text(encoding="utf-8")
    # the link was never followed: /etc/passwd was copied nowhere
    secret = Path("/etc/passwd").read_bytes()
    assert not any(p.read_bytes() == secret for p in home.root.rglob("*") if p.is_file() and not p.is_symlink())
    assert (inbox / "passwd.pdf").is_symlink()
    # the twins: one document, no orphan; every stored file is a recorded one
    assert home.db.execute("SELECT count(*) FROM documents WHERE scan_sha256=?",
                           (by_name["twin.pdf"]["sha256"],)).fetchone()[0] == 1
    assert not (inbox / "twin.pdf").exists() and not (inbox / "twin-copy.tif").exists()
    assert stored_files(home) == recorded_files(home)
    # the stored original is the bytes hashed
    row = home.db.execute("SELECT original_path, scan_sha256 FROM documents WHERE doc_id=?",
                          (by_name["户口本扫描.pdf"]["doc_id"],)).fetchone()
    assert sha(home.root / row["original_path"]) == row["scan_sha256"]
    assert "户口本扫描.pdf" in home.db.execute("SELECT source_name FROM scans WHERE sha256=?",
                                            (row["scan_sha256"],)).fetchone()[0]
    # ingest and verify agree: nothing filed that verify refuses
    checked = run_cli("--home", str(home.root), "verify")
    assert checked.exit_code == 0, checked.stdout
    # the text output lists every file too
    again = run_cli("--home", str(home.root), "ingest")
    assert again.exit_code == 0
    for name in ("passwd.pdf", "pipe.pdf", hidden.name, growing.name):
        assert name in again.stdout
    assert "已忽略" in again.stdout and "拒绝导入" in again.stdout


def test_stored_names_are_short_and_safe():
    name = stored_name(LONG_NAME + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= 150 and "…" in name
    assert stored_name("a/b:c*.PDF") == "a_b_c_.PDF"
    assert stored_name("e\u0301.jpg") == "\u00e9.jpg"  # NFC


def _peak_rss_mb(home_root: Path, *args: str) -> tuple[float, list[dict]]:
    """Run ingest in a child process; its peak resident memory (ru_maxrss of the child)."""
    script = ("import resource, subprocess, sys\n"
              "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
              "sys.stderr.write(done.stderr)\n"
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
              "print(done.stdout, end='')\n")
    command = [sys.executable, "-c", script, sys.executable, "-m", "archive", "--home", str(home_root), "ingest", "--json", *args]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.splitlines()
    return int(first) / 1024, [json.loads(line) for line in rest]


def test_memory_bombs_are_quarantined_with_bounded_memory(home, township):
    blank_pages_pdf(home.inbox_dir / "blank1000.pdf", 1000)  # 124 KB
    huge_page_pdf(home.inbox_dir / "huge-page.pdf")           # under 500 bytes
    id_card(home.inbox_dir / "good.pdf", township[0])
    home.close()
    peak, records = _peak_rss_mb(home.root)
    status = {Path(r["source"]).name: r["status"] for r in records}
    assert status == {"blank1000.pdf": "quarantined", "huge-page.pdf": "quarantined", "good.pdf": "filed"}
    assert peak < 600, f"peak RSS {peak:.0f} MB"


def test_pages_stream_through_with_bounded_memory(home, township):
    """24 pages rendered at 300 dpi are 600 MB of page images; they are not all kept."""
    text_pages_pdf(home.inbox_dir / "many.pdf", 24, ["居民身份证", f"公民身份号码 {township[0].head.id_number}"])
    home.close()
    peak, records = _peak_rss_mb(home.root)
    assert [r["status"] for r in records] == ["filed"]
    assert peak < 600, f"peak RSS {peak:.0f} MB"


def test_limits_come_from_configuration(home, township, tmp_path):
    import yaml

    data = yaml.safe_load(home.config_path.read_text(encoding="utf-8"))
    data["ingest"] = {"max_pages": 3, "max_page_pixels": 2_000_000, "settle_seconds": 0}
    home.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    home.__dict__.pop("config", None)
    text_pages_pdf(home.inbox_dir / "four.pdf", 4, ["四页的文件"])
    blank_pages_pdf(home.inbox_dir / "a4.pdf", 1)  # A4 at 300 dpi: 8.7 MP
    records = {Path(r.source).name: r for r in Ingester(home).run([home.inbox_dir])}
    assert "4 页，上限 3 页" in records["four.pdf"].reason
    assert "上限 2,000,000 像素" in records["a4.pdf"].reason
    data["ingest"] = {"max_pages": 0}
    home.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert run_cli("--home", str(home.root), "ingest").exit_code != 0  # the schema refuses it


def test_file_changed_while_copied_waits_and_nothing_is_registered(home, township, monkeypatch):
    scan = id_card(home.inbox_dir / "scan.pdf", township[0])
    original_stage = StagingArea.stage

    def growing_stage(self, entry):
        with open(entry.path, "ab") as handle:  # the scanner is still writing
            handle.write(b"more pages")
        return original_stage(self, entry)

    monkeypatch.setattr(StagingArea, "stage", growing_stage)
    records = Ingester(home).run([home.inbox_dir])
    assert [r.status for r in records] == ["waiting"] and "等待写入完成" in records[0].reason
    assert scan.exists()
    assert home.db.execute("SELECT count(*) FROM scans").fetchone()[0] == 0
    monkeypatch.setattr(StagingArea, "stage", original_stage)
    records = Ingester(home).run([home.inbox_dir])
    row = home.db.execute("SELECT original_path, scan_sha256 FROM documents").fetchone()
    assert [r.status for r in records] == ["filed"] and sha(home.root / row[0]) == row[1] == records[0].sha256


def test_owner_password_pdf_is_quarantined_and_verify_agrees(home, township, tmp_path):
    import pypdf

    locked = owner_password_pdf(id_card(tmp_path / "plain.pdf", township[0]), home.inbox_dir / "locked.pdf")
    reader = pypdf.PdfReader(locked)
    assert reader.is_encrypted and reader.decrypt("") != pypdf.PasswordType.NOT_DECRYPTED  # opens without a password
    records = Ingester(home).run([home.inbox_dir])
    assert records[0].status == "quarantined" and "权限密码" in records[0].reason
    assert home.db.execute("SELECT count(*) FROM documents WHERE origin='scan'").fetchone()[0] == 0
    assert run_cli("--home", str(home.root), "verify").exit_code == 0


def test_worker_killed_for_memory_quarantines_only_its_file(home, township, monkeypatch):
    from archive.catalog import file_digest
    from archive.scans.pipeline import PageReader

    for i in range(3):
        id_card(home.inbox_dir / f"good{i}.pdf", township[i])
    bomb = id_card(home.inbox_dir / "bomb.pdf", township[5])
    bomb_sha = sha(bomb)
    original = PageReader.process

    def dying(self, path, title="", searchable=None):
        if file_digest(path) == bomb_sha:
            os._exit(137)  # as the OOM killer would
        return original(self, path, title, searchable)

    monkeypatch.setattr(PageReader, "process", dying)  # inherited by the forked workers
    records = {Path(r.source).name: r for r in Ingester(home, workers=2).run([home.inbox_dir])}
    assert records["bomb.pdf"].status == "quarantined" and "异常终止" in records["bomb.pdf"].reason
    assert all(records[f"good{i}.pdf"].status == "filed" for i in range(3))


def test_a_file_started_too_often_without_finishing_is_quarantined(home, township, monkeypatch):
    scan = id_card(home.inbox_dir / "heavy.pdf", township[0])

    def killed(task):
        raise KeyboardInterrupt  # stands for the kill while the pages are processed

    original = ingest_module.process_in_worker
    monkeypatch.setattr(ingest_module, "process_in_worker", killed)
    for _ in range(2):
        with pytest.raises(KeyboardInterrupt):
            Ingester(home).run([home.inbox_dir])
    assert home.db.execute("SELECT attempts FROM scans").fetchone()[0] == 2
    monkeypatch.setattr(ingest_module, "process_in_worker", original)
    records = Ingester(home).run([home.inbox_dir])
    assert records[0].status == "quarantined" and "2 次开始处理而未完成" in records[0].reason
    assert not scan.exists()


def test_rerun_repairs_what_a_kill_leaves(home, township):
    # a filed scan; then a kill left a temp copy of its original and lost the original itself
    id_card(home.inbox_dir / "filed.pdf", township[0])
    record = Ingester(home).run([home.inbox_dir])[0]
    row = home.db.execute("SELECT original_path FROM documents WHERE doc_id=?", (record.doc_id,)).fetchone()
    original = home.root / row[0]
    temp_copy = original.with_name(f".{original.name}.99999999.tmp")
    os.replace(original, temp_copy)
    stray = original.with_name(f".{original.stem}.pdf-x.99999998.tmp")
    stray.write_bytes(b"half a write")
    # a kill between the quarantine move and its record (as older versions ordered it)
    bad = b"%PDF-1.4\n" + os.urandom(500) + b"\n%%EOF\n"
    bad_sha = hashlib.sha256(bad).hexdigest()
    for folder in (home.root / "quarantine", home.root / "quarantine" / "20250101"):  # private, as the program writes
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
    (home.root / "quarantine" / "20250101" / f"{bad_sha[:8]}-bad.pdf").write_bytes(bad)
    (home.root / "quarantine" / "20250101" / f"{bad_sha[:8]}-bad.pdf").chmod(0o600)
    lost_sha = "f" * 64
    with home.db:
        home.db.executemany("INSERT INTO scans(sha256, source_name, source_path, status, doc_id) VALUES (?,?,?,?,?)",
                            [(bad_sha, "bad.pdf", str(home.inbox_dir / "bad.pdf"), "processing", "Z109-9999998"),
                             (lost_sha, "lost.pdf", str(home.inbox_dir / "lost.pdf"), "processing", "Z109-9999999")])
    # a killed run's staging folder (its lock is free)
    stale = home.root / ".ingest" / "run-killed"
    stale.mkdir(parents=True)
    (stale / ".lock").touch()
    (stale / "00001.pdf").write_bytes(b"a whole copy of a scan")
    assert run_cli("--home", str(home.root), "verify").exit_code != 0
    ingester = Ingester(home)
    ingester.run([home.inbox_dir])
    repaired = " ".join(r.reason for r in ingester.repairs)
    assert "已补全" in repaired and "临时文件，已删除" in repaired and "补登记为隔离" in repaired
    assert "暂存副本" in repaired
    assert original.exists() and not temp_copy.exists() and not stray.exists() and not stale.exists()
    status = dict(home.db.execute("SELECT sha256, status FROM scans WHERE sha256 IN (?,?)", (bad_sha, lost_sha)).fetchall())
    assert status == {bad_sha: "quarantined", lost_sha: "missing"}
    assert not list(home.documents_dir.rglob("*.tmp"))
    result = run_cli("--home", str(home.root), "verify")
    assert result.exit_code == 0, result.stdout


def test_status_words_cover_every_status():
    for status in ("filed", "linked", "review", "duplicate", "quarantined", "waiting", "ignored", "refused", "failed"):
        assert status in ingest_module.STATUS_ZH


def test_an_unexpected_error_on_one_file_leaves_it_and_files_the_others(home, township, monkeypatch):
    from archive.scans.pipeline import PageReader

    good = id_card(home.inbox_dir / "good.pdf", township[0])
    odd = id_card(home.inbox_dir / "odd.pdf", township[1])
    odd_sha = sha(odd)
    original = PageReader.process

    def failing(self, path, title="", searchable=None):
        if sha(path) == odd_sha:
            raise ValueError("a bug, not the file's fault")
        return original(self, path, title, searchable)

    monkeypatch.setattr(PageReader, "process", failing)
    records = {Path(r.source).name: r for r in Ingester(home).run([home.inbox_dir])}
    assert records["good.pdf"].status == "filed" and not good.exists()
    assert records["odd.pdf"].status == "failed" and "ValueError" in records["odd.pdf"].reason and odd.exists()
    assert home.db.execute("SELECT attempts FROM scans WHERE sha256=?", (odd_sha,)).fetchone()[0] == 0


def test_a_folder_given_by_a_link_is_walked_but_links_inside_are_not_followed(home, township, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    scan = id_card(share / "scan.pdf", township[0])
    (share / "elsewhere").symlink_to(tmp_path / "private", target_is_directory=True)
    (tmp_path / "private").mkdir()
    id_card(tmp_path / "private" / "not-ours.pdf", township[1])
    (tmp_path / "mounted").symlink_to(share, target_is_directory=True)
    records = {Path(r.source).name: r for r in Ingester(home).run([tmp_path / "mounted"])}
    assert records["scan.pdf"].status == "filed" and scan.exists()  # outside the inbox: copied, never moved
    assert records["elsewhere"].status == "refused" and "not-ours.pdf" not in records


def test_kill_between_quarantine_move_and_record(home, township, monkeypatch):
    bad = home.inbox_dir / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n" + os.urandom(800) + b"\n%%EOF\n")
    digest = sha(bad)
    real_audit = ingest_module.audit

    def killed(conn, operator, action, *args, **kw):
        if action == "ingest.quarantine":
            raise KeyboardInterrupt  # the copy is in quarantine/, the record not yet written
        return real_audit(conn, operator, action, *args, **kw)

    monkeypatch.setattr(ingest_module, "audit", killed)
    with pytest.raises(KeyboardInterrupt):
        Ingester(home).run([home.inbox_dir])
    assert home.db.execute("SELECT status FROM scans WHERE sha256=?", (digest,)).fetchone()[0] == "processing"
    assert bad.exists() and list((home.root / "quarantine").rglob(f"{digest[:8]}-bad.pdf"))
    monkeypatch.setattr(ingest_module, "audit", real_audit)
    ingester = Ingester(home)
    records = ingester.run([home.inbox_dir])
    assert "补登记为隔离" in ingester.repairs[0].reason and "损坏" in ingester.repairs[0].reason
    assert [r.status for r in records] == ["duplicate"] and not bad.exists()
    row = home.db.execute("SELECT status, quarantine_path FROM scans WHERE sha256=?", (digest,)).fetchone()
    assert row[0] == "quarantined" and sha(home.root / row[1]) == digest
    assert run_cli("--home", str(home.root), "verify").exit_code == 0
