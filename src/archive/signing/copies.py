"""Copies of signed PDFs that cannot carry the signature (pages merged into an inspection export):
the signature fields are left out, so no reader shows a broken signature, and the caller records
that the pages are a copy of a signed original."""

from __future__ import annotations

from pathlib import Path

import pypdf
from pypdf.generic import ArrayObject, NameObject


def _is_signature_annot(annot) -> bool:
    annot = annot.get_object()
    node, depth = annot, 0
    while node is not None and depth < 32:  # /FT may be inherited from the parent field
        if node.get("/FT") == "/Sig":
            return True
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        depth += 1
    return False


def has_signature_fields(path: Path) -> bool:
    """True when the PDF has a signature field (an AcroForm /Sig field or a signature widget)."""
    try:
        reader = pypdf.PdfReader(str(path))
        form = reader.trailer["/Root"].get("/AcroForm")
        if form is not None:
            for field in form.get_object().get("/Fields", []):
                if _is_signature_annot(field):
                    return True
        return any(_is_signature_annot(a) for page in reader.pages for a in (page.get("/Annots") or []))
    except Exception:  # unreadable: the caller's normal path reports it
        return False


def drop_signature_widgets(page: pypdf.PageObject) -> bool:
    """Remove signature widgets from a page being copied; True when there were any."""
    annots = page.get("/Annots")
    if not annots:
        return False
    annots = annots.get_object()
    keep = [a for a in annots if not _is_signature_annot(a)]
    if len(keep) == len(annots):
        return False
    if keep:
        page[NameObject("/Annots")] = ArrayObject(keep)
    else:
        del page[NameObject("/Annots")]
    return True
