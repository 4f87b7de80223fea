"""The output object of a generated document, as `archive generate --json` prints it and the
web API returns it."""

from __future__ import annotations

from typing import Any

from archive.documents.generate import Generated
from archive.home import Home


def generated_record(home: Home, result: Generated) -> dict[str, Any]:
    signed = home.db.execute("SELECT signed_by, signature_kind FROM documents WHERE doc_id=?",
                             (result.doc_id,)).fetchone()
    return {"doc_id": result.doc_id, "type": result.type, "number": result.number,
            "household": result.household, "pdf": result.pdf, "docx": result.docx,
            "xlsx": result.xlsx, "pages": result.pages, "reprinted": result.reprinted,
            "signed_by": signed["signed_by"] if signed else None,
            "signature": signed["signature_kind"] if signed else None}
