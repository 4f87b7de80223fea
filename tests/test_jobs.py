"""Background jobs (archive.jobs, archive.jobwork): a job's record and progress in the catalog,
one running job per kind (a second start refused in Chinese, naming who and when), a job whose
server process died shown as interrupted, month-end filing, 四性检测 and reindex as jobs with
their results, and the library's warning for a scan that arrives in a closed month."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from archive import jobs
from archive.catalog import transaction
from archive.documents.generate import Generator
from archive.errors import ArchiveError
from archive.filing.late import closed_month_note
from archive.filing.month import file_month
from archive.identity import acting_as
from archive.jobwork import start_file_month, start_reindex, start_verify

JULY = dt.date(2025, 7, 1)


def _finished(home, job):
    assert jobs.wait(job.id, 120), "job did not finish"
    return jobs.get_job(home, job.id)


def test_a_job_runs_in_the_background_records_progress_and_its_result(home):
    release = threading.Event()

    def work(home, progress):
        progress(1, 3, "第一步")
        progress.item("a.pdf", page=1, pages=2)
        assert release.wait(30)
        progress(3, 3, "完成")
        return {"answer": 42}

    with acting_as("王敏"):
        job = jobs.start(home, "reindex", "测试任务", work)
    assert job.state == "running" and job.operator == "王敏" and job.kind_title == "重建全文索引"
    seen = jobs.get_job(home, job.id)  # the page does not wait: the job is still running
    assert seen.running and seen.state_title == "进行中"
    release.set()
    done = _finished(home, job)
    assert done.state == "done" and done.result == {"answer": 42} and done.percent == 100
    assert done.detail["items"] == [{"name": "a.pdf", "page": 1, "pages": 2}]
    assert done.finished_at and done.message == "完成"
    assert [j.id for j in jobs.list_jobs(home)][0] == job.id


def test_a_second_start_of_the_same_kind_is_refused_naming_who_and_when(home):
    release = threading.Event()
    with acting_as("王敏"):
        first = jobs.start(home, "verify", "四性检测", lambda home, progress: {"ok": release.wait(30)})
    try:
        with acting_as("李芳"), pytest.raises(jobs.JobBusyError) as refused:
            jobs.start(home, "verify", "四性检测", lambda home, progress: {})
        message = refused.value.message
        assert "「四性检测」正在进行" in message and "王敏" in message and "年" in message and "月" in message
        assert refused.value.running.id == first.id
        # another kind is not held up
        other = jobs.start(home, "reindex", "重建", lambda home, progress: {"other": True})
        assert _finished(home, other).state == "done"
    finally:
        release.set()
    assert _finished(home, first).state == "done"
    again = jobs.start(home, "verify", "四性检测", lambda home, progress: {})  # free again once done
    assert _finished(home, again).state == "done"


def test_the_database_itself_holds_one_running_job_per_kind(home):
    with transaction(home.db):
        home.db.execute("INSERT INTO jobs(kind, title, operator, state, owner) VALUES "
                        "('batch', 't', 'x', 'running', 'elsewhere:1:a')")
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError), transaction(home.db):
        home.db.execute("INSERT INTO jobs(kind, title, operator, state, owner) VALUES "
                        "('batch', 't', 'y', 'running', 'elsewhere:2:b')")


def test_a_job_whose_server_died_is_shown_as_interrupted(home):
    # a row left running by a process that is gone (this host, a pid that does not exist),
    # and one by an earlier process that had this very pid (a restarted container)
    import os

    with transaction(home.db):
        home.db.execute("INSERT INTO jobs(kind, title, operator, state, owner, done, total) VALUES "
                        "('file-month', '月末归档', '王敏', 'running', ?, 3, 10)", (f"{jobs._HOST}:999999999:old",))
        home.db.execute("INSERT INTO jobs(kind, title, operator, state, owner) VALUES "
                        "('ingest', '导入', '王敏', 'running', ?)", (f"{jobs._HOST}:{os.getpid()}:earlier",))
        home.db.execute("INSERT INTO jobs(kind, title, operator, state, owner) VALUES "
                        "('batch', '批量', '王敏', 'running', 'another-host:1:x')")
    listed = {job.kind: job for job in jobs.list_jobs(home)}
    assert listed["file-month"].state == "interrupted" and listed["file-month"].state_title == "已中断"
    assert "服务器" in listed["file-month"].error and listed["file-month"].done == 3
    assert listed["ingest"].state == "interrupted"
    assert listed["batch"].state == "running"  # another machine's job cannot be judged from here
    job = start_reindex(home)  # the interrupted kind can start again
    assert _finished(home, job).state == "done"


def test_a_failing_job_is_recorded_failed_with_its_chinese_message(home):
    def work(home, progress):
        raise ArchiveError("出错了：测试", hint="换个办法")

    def crash(home, progress):
        raise RuntimeError("internal detail")

    failed = _finished(home, jobs.start(home, "batch", "批量", work))
    assert failed.state == "failed" and failed.error == "出错了：测试（换个办法）"
    crashed = _finished(home, jobs.start(home, "batch", "批量", crash))
    assert crashed.state == "failed" and "服务器内部错误" in crashed.error and "internal" not in crashed.error


def test_month_end_filing_as_a_job_reports_progress_and_its_outputs(home, head_id):
    Generator(home).household_document("refusal", head_id, dt.date(2025, 7, 8),
                                       {"reason": "家庭人均收入高于当地最低生活保障标准", "apply_date": "2025-06-20"})
    steps = []
    with acting_as("王敏"):
        job = start_file_month(home, JULY)
    done = _finished(home, job)
    assert done.state == "done", done.error
    assert done.result["items"] == 1 and done.result["changed"] is True
    assert "归档文件目录-2025-07.xlsx" in done.result["outputs"]
    assert done.done == done.total and done.total == 2  # one 件, then the catalogues
    row = home.db.execute("SELECT operator FROM audit WHERE action='filing.month'").fetchone()
    assert row["operator"] == "王敏"  # the audit names the user who started the job
    # the library's progress callback, called directly
    result = file_month(home, JULY, lambda d, t, m: steps.append((d, t, m)))
    assert result.changed is False and steps == []  # filed already: nothing to do


def test_verify_as_a_job_lists_every_check_in_chinese(home):
    done = _finished(home, start_verify(home))
    assert done.state == "done", done.error
    checks = done.result["checks"]
    assert len(checks) >= 10 and all(c["passed"] for c in checks) and done.result["ok"] is True
    assert {c["category"] for c in checks} >= {"真实性", "完整性", "安全性"}
    assert all(c["title"] and not c["title"].startswith("check_") for c in checks)
    assert "均通过" in done.result["report"]


def test_verify_job_shows_a_failed_check_when_a_file_is_tampered(home, head_id):
    made = Generator(home).household_document(
        "refusal", head_id, dt.date(2025, 7, 8), {"reason": "家庭人均收入高于当地最低生活保障标准", "apply_date": "2025-06-20"})
    with open(made.pdf, "ab") as handle:
        handle.write(b"% tampered\n")
    done = _finished(home, start_verify(home))
    assert done.result["ok"] is False
    failed = [c for c in done.result["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["check_document_files"]


def test_a_document_arriving_in_a_closed_month_is_named_so(home, head_id):
    Generator(home).household_document("refusal", head_id, dt.date(2025, 7, 8),
                                       {"reason": "家庭人均收入高于当地最低生活保障标准", "apply_date": "2025-06-20"})
    assert closed_month_note(home.db, "2025-07-20") is None
    file_month(home, JULY)
    note = closed_month_note(home.db, "2025-07-20")
    assert note and "2025-07 月" in note and "已归档" in note and "reopen-month 2025-07" in note
    assert closed_month_note(home.db, "2025-08-01") is None


def test_a_scan_assigned_into_a_closed_month_is_named_so(home, head_id, tmp_path):
    from scanfixtures import text_pdf

    from archive.scans.ingest import Ingester
    from archive.scans.review import review_assign

    Generator(home).household_document("refusal", head_id, dt.date(2025, 7, 8),
                                       {"reason": "家庭人均收入高于当地最低生活保障标准", "apply_date": "2025-06-20"})
    folder = tmp_path / "in"
    folder.mkdir()
    text_pdf(folder / "说明.pdf", ["一份说明材料", "无法识别归属", "2025年7月20日"])
    seen = []
    (record,) = Ingester(home, on_file=lambda name, fields: seen.append((name, dict(fields)))).run([folder])
    assert record.status == "review" and "已归档" not in record.reason
    assert seen[0] == ("说明.pdf", {"state": "queued"}) and seen[-1][1]["status_title"] == "待人工分拣"
    assert ("说明.pdf", {"page": 1, "pages": 1}) in seen  # page by page
    file_month(home, JULY)
    result = review_assign(home, record.doc_id, head_id, "hukou")
    assert "2025-07 月" in result["warning"] and "reopen-month 2025-07" in result["warning"]


@pytest.mark.slow
def test_jobs_on_a_postgresql_catalog(tmp_path, postgres_url, monkeypatch):
    """The same rules with the catalog in PostgreSQL: a job runs and records its result, a second
    start is refused, a job left running by a dead process is interrupted."""
    from webfixtures import make_web_home, open_home

    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    home = open_home(make_web_home(tmp_path))
    try:
        assert home.catalog_target is not None
        release = threading.Event()
        with acting_as("王敏"):
            first = jobs.start(home, "verify", "四性检测", lambda home, progress: progress(1, 2, "一半") or
                               {"ok": release.wait(30)})
        with pytest.raises(jobs.JobBusyError):
            jobs.start(home, "verify", "四性检测", lambda home, progress: {})
        release.set()
        done = _finished(home, first)
        assert done.state == "done" and done.result == {"ok": True} and done.operator == "王敏" and done.finished_at
        with transaction(home.db):
            home.db.execute("INSERT INTO jobs(kind, title, operator, state, owner) VALUES "
                            "('reindex', '重建', 'x', 'running', ?)", (f"{jobs._HOST}:999999999:gone",))
        assert jobs.running_job(home, "reindex") is None
        assert jobs.list_jobs(home)[0].state == "interrupted"
        filing = _finished(home, start_file_month(home, JULY))
        assert filing.state == "done" and filing.result["items"] == 1, filing.error
    finally:
        home.close()
