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
