"""System failures reach users as Chinese phrases, never the operating system's English."""

from __future__ import annotations

import errno

import pytest

from archive.errors import ArchiveError, error_text, os_error_text


@pytest.mark.parametrize(("exc", "expected"), [
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), "找不到文件"),
    (PermissionError(errno.EACCES, "Permission denied"), "没有读取或写入的权限"),
    (OSError(errno.ENOSPC, "No space left on device"), "磁盘已满"),
    (OSError(errno.EROFS, "Read-only file system"), "磁盘是只读的"),
    (OSError(errno.ENAMETOOLONG, "File name too long"), "文件名太长"),
])
def test_os_errors_are_chinese(exc, expected):
    assert os_error_text(exc) == expected
    assert error_text(exc) == expected


def test_unexpected_errors_name_the_class_only_as_a_reference():
    text = error_text(ValueError("invalid literal for int() with base 10: 'abc'"))
    assert text.startswith("文件内容格式不对") and "ValueError" in text and "invalid literal" not in text
    assert error_text(RuntimeError("boom")).startswith("程序内部错误")
    assert error_text(MemoryError()) == "内存不足"
    assert error_text(ArchiveError("某户不存在")) == "某户不存在"
