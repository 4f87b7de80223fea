"""asgi-csrf 0.11 reads the CSRF token of a multipart form (a file upload) with python-multipart's
FormParser, passing `FileClass=`, which python-multipart 0.0.2x removed: every upload form that
carried its token as a form field failed with a TypeError (a 500). This adapter takes that
argument and keeps asgi-csrf's rule: the token must come before any file, otherwise the request
is refused (FileBeforeToken, answered 403)."""

from __future__ import annotations

import inspect
from typing import Any

import asgi_csrf
from python_multipart import FormParser


class CompatFormParser(FormParser):
    def __init__(self, content_type: str, on_field: Any, on_file: Any, *args: Any,
                 FileClass: Any = None, **kwargs: Any) -> None:  # noqa: N803 (asgi-csrf's spelling)
        def file_before_token(_file: Any = None) -> None:
            raise asgi_csrf.FileBeforeToken

        super().__init__(content_type, on_field, file_before_token, *args, **kwargs)


def install() -> None:
    """Use the adapter when the installed python-multipart no longer takes FileClass."""
    if "FileClass" not in inspect.signature(FormParser.__init__).parameters:
        asgi_csrf.FormParser = CompatFormParser
