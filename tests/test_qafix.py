"""Regression tests for the QA pass's defects (each failed before its fix)."""

from __future__ import annotations

import os

import pytest

from archive.errors import ExitCode, UsageError
from archive.search.engine import search
from tests.conftest import run_cli
from tests.test_filing import month  # noqa: F401  (fixture)
from tests.test_search import archive  # noqa: F401  (fixture)


@pytest.mark.parametrize("text", ["", "   "])
def test_blank_search_is_refused_without_a_filter(home, archive, text):  # noqa: F811
    with pytest.raises(UsageError, match="请输入检索内容"):
        search(home, text)
    result = run_cli("--home", str(home.root), "search", text)
    assert result.exit_code == ExitCode.USAGE
    assert "请输入检索内容" in result.output + result.stderr
    assert "找到" not in result.output


def test_blank_search_with_a_filter_lists_that_filter(home, archive):  # noqa: F811
    assisted, docs = archive
    head = assisted[0].head.id_number
    result = search(home, "", household=head)
    assert {hit.doc_id for hit in result.hits} == {doc.doc_id for doc in docs[head]}


def test_sandbox_refusal_is_chinese_with_file_and_line(home, head_id, monkeypatch):
    from archive.documents import templates

    monkeypatch.setattr(templates, "_refuse_unsafe", lambda *args: None)  # reach the sandbox itself
    templates._COMPILED.clear()
    path = home.templates_dir / "confirmation.yaml"
    path.write_text("id: confirmation\ntitle: 通知\nscope: household\nbody:\n  - title: 通知\n"
                    "  - paragraph: \"{{ family_size.__class__ }}\"\n", encoding="utf-8")
    result = run_cli("--home", str(home.root), "generate", "confirmation", "--household", head_id)
    assert result.exit_code == ExitCode.BAD_INPUT
    message = result.stderr.split("提示：")[0]
    assert str(path) in message and "第6行" in message and "不允许访问属性「__class__」" in message
    assert "unsafe" not in message and "access to" not in message


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("data.json", b'{"a": 1,', "JSON 格式错误"),
    ("data.json", b'\xff\xfe{"a"', "文字编码不是 UTF-8"),
    ("page.pdf", b"%PDF-1.7\nnot really a pdf", "PDF"),
    ("form.docx", b"PK\x03\x04 broken", "Office"),
    ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "图片"),
    ("scan.jpg", b"plain text", "无法识别的图片格式"),
])
def test_verify_describes_an_unopenable_file_in_chinese(tmp_path, name, content, expected):
    from archive.filing.verify import _usable

    path = tmp_path / name
    path.write_bytes(content)
    problem = _usable(path)
    assert problem is not None and problem.startswith("无法打开（") and expected in problem
    assert not any(word in problem for word in ("Error", "Exception", "BadZip"))


def test_templates_check_on_a_missing_file_says_so_in_chinese(home, tmp_path):
    missing = tmp_path / "nowhere" / "approval.yaml"
    result = run_cli("--home", str(home.root), "templates", "check", str(missing))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"找不到文件 {missing}" in result.stderr
    assert "No such file" not in result.stderr



def test_verify_signature_on_a_non_pdf_says_it_is_not_a_pdf(tmp_path):
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    result = run_cli("verify-signature", str(text))
    assert result.exit_code == ExitCode.PROBLEMS
    assert "不是 PDF 文件" in result.output and "损坏" not in result.output


@pytest.mark.parametrize(("name", "says"), [
    ("", "不能为空"),
    ("   ", "不能为空"),
    ("a/b", "路径分隔符"),
    ("a\\b", "路径分隔符"),
    ("龙井\n村", "控制字符"),
    ("..", "不能作为村名"),
    ("村" * 31, "过长"),
])
def test_village_add_refuses_an_unusable_name(home, name, says):
    before = list(home.config.villages)
    result = run_cli("--home", str(home.root), "village", "add", "新村", name)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert says in result.stderr and "已添加" not in result.output
    home.__dict__.pop("config", None)
    assert home.config.villages == before  # nothing added, not even the good name beside it


def test_village_add_still_accepts_a_normal_name(home):
    result = run_cli("--home", str(home.root), "village", "add", " 新民社区 ", "村" * 30)
    assert result.exit_code == 0, result.stderr
    home.__dict__.pop("config", None)
    assert "新民社区" in home.config.villages and "村" * 30 in home.config.villages


def test_reopened_month_with_nothing_new_closes_again(home, month):  # noqa: F811
    import datetime as dt

    from archive.filing.month import file_month, reopen_month
    from archive.filing.verify import verify

    july = dt.date(2025, 7, 1)
    first = file_month(home, july)
    reopen_month(home, july, "核对后发现无需补归档")
    result = run_cli("--home", str(home.root), "file-month", "2025-07")
    assert result.exit_code == 0, result.stderr
    assert "已重新关闭" in result.output
    assert home.db.execute("SELECT status FROM filing_months WHERE month='2025-07'").fetchone()[0] == "filed"
    closed = home.db.execute("SELECT detail FROM audit WHERE action='filing.close' AND target='2025-07'").fetchall()
    assert len(closed) == 1
    again = file_month(home, july)
    assert again.changed is False and again.outputs == first.outputs  # closed: a second run changes nothing
    assert verify(home).findings == []
    # a document arriving now is late for a closed month, not silently filed
    from archive.documents.generate import Generator

    Generator(home).household_document("adjustment", month["new"][1].head.id_number, dt.date(2025, 7, 30),
                                       {"new_amount": "300", "reason": "收入增加"})
    assert file_month(home, july).late == 1
    assert [f.code for f in verify(home).findings] == ["late_documents"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_verify_reports_loosened_permissions(home, archive):  # noqa: F811
    from archive.filing.verify import verify

    assert [f for f in verify(home).findings if f.code == "loose_permissions"] == []
    assisted, docs = archive
    pdf = home.root / next(iter(docs.values()))[0].pdf  # absolute or relative to the home
    os.chmod(pdf, 0o644)
    os.chmod(pdf.parent, 0o755)
    loose = {f.target: f for f in verify(home).findings if f.code == "loose_permissions"}
    assert set(loose) == {str(pdf.relative_to(home.root)), str(pdf.parent.relative_to(home.root))}
    assert all(f.check == "安全性" and "chmod -R go-rwx" in f.problem for f in loose.values())
    result = run_cli("--home", str(home.root), "verify")
    assert result.exit_code == ExitCode.PROBLEMS and "chmod -R go-rwx" in result.output
    os.chmod(pdf, 0o600)
    os.chmod(pdf.parent, 0o700)
    assert [f for f in verify(home).findings if f.code == "loose_permissions"] == []
