"""Regression tests for the QA pass's defects (each failed before its fix)."""

from __future__ import annotations

import pytest

from archive.errors import ExitCode, UsageError
from archive.search.engine import search
from tests.conftest import run_cli
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
