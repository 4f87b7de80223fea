"""What a scanned document is and whose it is.

1. Our QR code settles it: the document ID links the scan to the generated original, and with it
   its type and household.
2. Otherwise the type comes from the text (the titles of our forms, and the certificates people
   bring), and the household from an ID number in the text (checksum-valid, after undoing typical
   OCR confusions such as O/0, l/1, X/×), then from a head's name together with the village.
3. Anything not placed with confidence goes to the review queue: never to a guessed household.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from archive import idcard
from archive.documents.types import Registry, registry


def __getattr__(name: str) -> Any:
    """TYPE_TITLES: the built-in types' titles (id -> title), from the registry; a home's own
    types are in `registry(home).titles()`."""
    if name == "TYPE_TITLES":
        return registry().titles()
    raise AttributeError(name)


# characters OCR returns in place of digits inside an ID number
_CONFUSABLE = str.maketrans({
    "O": "0", "o": "0", "D": "0", "Q": "0", "〇": "0", "I": "1", "l": "1", "|": "1", "i": "1",
    "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "g": "9", "q": "9", "G": "6", "b": "6",
    "×": "X", "x": "X", "Ⅹ": "X", "χ": "X",
})
_ID_CANDIDATE = re.compile(r"[0-9０-９OoDQ〇Il|iZzSsBgqGb×xXⅩχ][0-9０-９OoDQ〇Il|iZzSsBgqGb×xXⅩχ \-]{16,24}")


def find_id_numbers(text: str) -> list[str]:
    """Checksum-valid ID numbers in OCR text, allowing the usual confusions and stray spaces."""
    found: list[str] = []
    for match in _ID_CANDIDATE.finditer(text):
        raw = re.sub(r"[\s\-]", "", match.group()).translate(_CONFUSABLE)
        raw = idcard.normalize(raw)
        for start in range(0, max(1, len(raw) - 17)):
            candidate = raw[start:start + 18]
            if len(candidate) == 18 and candidate[:17].isdigit() and idcard.is_valid(candidate):
                if candidate not in found:
                    found.append(candidate)
                break
    return found


def classify(text: str, types: Registry | None = None) -> str | None:
    """The document type of a scan's text (the titles of the templates' `recognize` texts and the
    certificates people bring), from the home's registry or the built-in one."""
    return (types or registry()).classify(text)


@dataclass
class Identification:
    status: str                      # linked / filed / review
    household: str | None = None
    doc_type: str | None = None
    source_doc: str | None = None    # the generated original, for linked scans
    reason: str = ""
    evidence: list[str] = field(default_factory=list)


def identify(conn: sqlite3.Connection, text: str, qr_doc_ids: list[str], villages: list[str],
             types: Registry | None = None) -> Identification:
    for doc_id in qr_doc_ids:
        row = conn.execute("SELECT doc_id, type, household_id, status FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        if row is not None:
            return Identification("linked", row["household_id"], row["type"], row["doc_id"],
                                  f"二维码 {doc_id}", [f"二维码指向本档案库的文书 {doc_id}"])
    doc_type = classify(text, types)
    if qr_doc_ids:
        unknown = "、".join(qr_doc_ids)
        return Identification("review", None, doc_type, None, f"二维码 {unknown} 不是本档案库生成的文书")
    households: list[tuple[str, str]] = []
    for number in find_id_numbers(text):
        row = conn.execute(
            "SELECT m.household_id, h.head_name FROM members m JOIN households h ON h.id=m.household_id WHERE m.id_number=?",
            (number,)).fetchone()
        if row and row["household_id"] not in [h for h, _ in households]:
            households.append((row["household_id"], f"身份证号 {number}（{row['head_name']}户）"))
    if len(households) == 1:
        return Identification("filed", households[0][0], doc_type, None, households[0][1], [households[0][1]])
    if len(households) > 1:
        names = "、".join(reason for _, reason in households)
        return Identification("review", None, doc_type, None, f"文中的身份证号属于不同家庭：{names}")
    # no ID number: a head's name together with their village, and only if that is unique
    compact = re.sub(r"\s+", "", text)
    mentioned = [v for v in villages if v in compact]
    if mentioned:
        marks = ",".join("?" * len(mentioned))
        rows = conn.execute(f"SELECT id, head_name, village FROM households WHERE village IN ({marks})", mentioned).fetchall()
        named = [row for row in rows if len(row["head_name"]) >= 2 and row["head_name"] in compact]
        if len(named) == 1:
            row = named[0]
            reason = f"户主姓名 {row['head_name']} 与村 {row['village']}"
            return Identification("filed", row["id"], doc_type, None, reason, [reason])
        if len(named) > 1:
            return Identification("review", None, doc_type, None,
                                  "文中出现多个户主姓名：" + "、".join(r["head_name"] for r in named))
    return Identification("review", None, doc_type, None, "没有找到可识别的二维码、身份证号或户主姓名与村名")
