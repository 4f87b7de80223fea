"""The 归档章 on a signed document is a later, allowed change — and only it.

The filed copy of a signed notice gets its 归档章 as an incremental update (the signed bytes stay as
they are, so the signature stays valid). That update adds one /Stamp annotation on page one, and
nothing else. pyHanko's difference analysis rejects any change it cannot explain; this rule explains
exactly this one, at modification level ANNOTATIONS (no other rule in the policy uses that level, so
a signature whose later revisions reach it saw the archival stamp and nothing worse):

- page one's dictionary changes only in /Annots, and only by appending annotations;
- one annotation is appended (revisions are compared with the signed one, so there is at most one
  stamp in all): a new object, /Subtype /Stamp, named STAMP_NAME, only the keys the archive writes
  (no actions), no larger than the stamp (MAX_W × MAX_H points), within the top band of the page,
  with its own appearance;
- every object the annotation reaches is new in this revision (nothing signed is reused or replaced).

Any other change (text, images, other pages, other annotations, a second stamp) stays unexplained,
and the signature is reported as 签名后有修改.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyhanko.pdf_utils import generic
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    StandardDiffPolicy,
)

STAMP_NAME = "archive-filing-stamp"
MAX_W = 48 * 72 / 25.4 + 2   # 3 cells of 16 mm, with a point of slack on each side
MAX_H = 14 * 72 / 25.4 + 2   # 2 rows of 7 mm
TOP_BAND = 22 * 72 / 25.4 + 2  # the stamp sits 8 mm below the top edge: all of it within 22 mm
ALLOWED_KEYS = {"/Type", "/Subtype", "/NM", "/Rect", "/F", "/Contents", "/AP"}


def _annot_refs(page) -> tuple[list, generic.Reference | None]:
    raw = page.raw_get("/Annots") if "/Annots" in page else None
    if raw is None:
        return [], None
    ref = raw.reference if isinstance(raw, generic.IndirectObject) else None
    array = raw.get_object()
    if not isinstance(array, generic.ArrayObject):
        raise ValueError("/Annots is not an array")
    refs = []
    for item in array:
        if not isinstance(item, generic.IndirectObject):
            raise ValueError("direct annotation")
        refs.append(item.reference)
    return refs, ref


def _reachable(obj, seen: set) -> Iterable[generic.Reference]:
    """Every indirect reference reachable from `obj` (dicts, arrays, stream dictionaries)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, generic.IndirectObject):
            if item.reference in seen:
                continue
            seen.add(item.reference)
            yield item.reference
            stack.append(item.get_object())
        elif isinstance(item, generic.DictionaryObject):  # includes stream objects
            stack.extend(item.raw_get(k) for k in item)
        elif isinstance(item, generic.ArrayObject):
            stack.extend(item)


def _is_stamp(annot, page) -> bool:
    """The archive's 归档章: only the keys the archive writes (no actions, no popups), the stamp's
    size, inside the top band of the page (DA/T 22: 上端), with an appearance of its own."""
    if not isinstance(annot, generic.DictionaryObject) or not set(annot) <= ALLOWED_KEYS:
        return False
    if annot.get("/Subtype") != "/Stamp" or str(annot.get("/NM", "")) != STAMP_NAME:
        return False
    try:
        x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])
        px0, py0, px1, py1 = (float(v) for v in _inherited(page, "/MediaBox"))
        appearance = annot["/AP"]["/N"]
    except (KeyError, TypeError, ValueError):
        return False
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    return (0 < x1 - x0 <= MAX_W and 0 < y1 - y0 <= MAX_H
            and px0 <= x0 and x1 <= px1 and py1 - TOP_BAND <= y0 and y1 <= py1
            and isinstance(appearance, generic.StreamObject) and set(annot["/AP"]) == {"/N"})


class ArchivalStampRule(QualifiedWhitelistRule):
    """Clears one archival stamp annotation added to page one (see the module docstring)."""

    def apply_qualified(self, old, new) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        try:
            old_first = _first_page_ref(old.root["/Pages"])
            new_first = _first_page_ref(new.root["/Pages"])
        except (KeyError, TypeError, ValueError, IndexError):
            return
        if old_first != new_first:
            return
        old_page, new_page = old(old_first), new(new_first)
        try:
            old_annots, old_array_ref = _annot_refs(old_page)
            new_annots, new_array_ref = _annot_refs(new_page)
        except ValueError:
            return
        added = new_annots[len(old_annots):]
        if new_annots[:len(old_annots)] != old_annots or len(added) != 1:
            return
        if set(old_page) - {"/Annots"} != set(new_page) - {"/Annots"}:
            return
        if any(old_page.raw_get(k) != new_page.raw_get(k) for k in new_page if k != "/Annots"):
            return
        annot_ref = added[0]
        if not old.is_ref_unassignable(annot_ref) or not _is_stamp(new(annot_ref), new_page):
            return
        refs = list(_reachable(generic.IndirectObject(annot_ref.idnum, annot_ref.generation, new), set()))
        if any(not old.is_ref_unassignable(ref) for ref in refs):
            return
        yield ModificationLevel.ANNOTATIONS, ReferenceUpdate(new_first)
        if new_array_ref is not None:
            if old_array_ref not in (None, new_array_ref) or (old_array_ref is None and not old.is_ref_unassignable(new_array_ref)):
                return
            yield ModificationLevel.ANNOTATIONS, ReferenceUpdate(new_array_ref)
        for ref in refs:
            yield ModificationLevel.ANNOTATIONS, ReferenceUpdate(ref)


def _inherited(page, key: str):
    node = page
    for _ in range(64):
        if key in node:
            return node[key]
        node = node["/Parent"]
    raise KeyError(key)


def _first_page_ref(pages) -> generic.Reference:
    node = pages
    for _ in range(64):  # bounded descent: hostile page trees cannot loop
        kid = node["/Kids"].raw_get(0)
        target = kid.get_object()
        if target.get("/Type") == "/Page":
            return kid.reference
        node = target
    raise ValueError("page tree too deep")


ARCHIVE_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[*DEFAULT_DIFF_POLICY.global_rules, ArchivalStampRule()],
    form_rule=DEFAULT_DIFF_POLICY.form_rule,
)
