"""Month end and integrity checking at a township's scale.

Run by hand:  .venv/bin/python bench/filing.py [--households 500] [--files 100000]

1. Closing a month: a township month with --households households touched (about six documents
   each: application, declaration, authorization, home-visit, approval, confirmation, some
   notices with stubs), rendered through the real generator; then `file-month` is timed (档号,
   归档章 on every filed copy, catalogues, boxes, completeness report).
2. `verify` over --files stored files: small PDFs registered in the catalog as a ten-year archive
   would be; the full 四性检测 (digests, opening every file, 件号 gaps, the audit chain) is timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

from archive import sample
from archive.catalog import file_digest, transaction
from archive.config import Config
from archive.documents.generate import Generator
from archive.filing.month import file_month
from archive.filing.verify import verify
from archive.home import init_home
from archive.roster.importer import import_roster
from archive.sealing import seal_documents

JULY = dt.date(2025, 7, 1)


def close_month(root: Path, households: int) -> dict:
    home = init_home(root, Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES)))
    township = sample.make_township(households, JULY, seed=2, applicants=0)
    import_roster(home.db, sample.write_roster_xlsx(township, root / "r.xlsx"), home.config, "bench")
    generator = Generator(home)
    rng = random.Random(3)
    started = time.perf_counter()
    for index, household in enumerate(township):
        head = household.head.id_number
        day = JULY + dt.timedelta(days=rng.randrange(28))
        for kind in ("application", "declaration", "authorization", "home-visit", "approval", "confirmation"):
            generator.household_document(kind, head, day)
        if index % 5 == 0:
            generator.household_document("adjustment", head, day, {"new_amount": "300", "reason": "收入变化"})
    generated_s = time.perf_counter() - started
    pages = home.db.execute("SELECT sum(pages), count(*) FROM documents").fetchone()
    started = time.perf_counter()
    result = file_month(home, JULY)
    filing_s = time.perf_counter() - started
    home.close()
    return {"households": households, "documents": pages[1], "pages": pages[0], "generate_s": round(generated_s, 1),
            "file_month_s": round(filing_s, 1), "filed_items": len(result.items), "boxes": len(result.boxes),
            "file_month_pages_per_s": round(pages[0] / filing_s, 1)}


def verify_many(root: Path, files: int) -> dict:
    home = init_home(root, Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES)))
    township = sample.make_township(5, JULY, seed=2, applicants=0)
    import_roster(home.db, sample.write_roster_xlsx(township, root / "r.xlsx"), home.config, "bench")
    template = Generator(home).household_document("confirmation", township[0].head.id_number, JULY)
    source = Path(template.pdf)
    digest, size = file_digest(source), source.stat().st_size
    started = time.perf_counter()
    rows, digests = [], []
    for index in range(files):
        relative = f"documents/bench/{index // 1000:03d}/{index:06d}.pdf"
        target = root / relative
        if index % 1000 == 0:
            target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        doc_id = f"B{index:07d}"
        rows.append((doc_id, "confirmation", "样例", JULY.isoformat(), doc_id, "{}", "{}", relative, 1))
        digests.append((doc_id, "pdf_path", digest, size))
    with transaction(home.db):
        home.db.executemany("INSERT INTO documents(doc_id, type, title, doc_date, request_key, params, context, pdf_path, pages)"
                            " VALUES (?,?,?,?,?,?,?,?,?)", rows)
        home.db.executemany("INSERT INTO files(doc_id, kind, sha256, size) VALUES (?,?,?,?)", digests)
        for start in range(0, len(rows), 1000):  # sealed as the software would, so verify passes
            seal_documents(home.db, "bench", [row[0] for row in rows[start:start + 1000]])
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    quick = verify(home, check_usability=False)
    quick_s = time.perf_counter() - started
    started = time.perf_counter()
    full = verify(home)
    full_s = time.perf_counter() - started
    home.close()
    return {"files": full.files, "build_s": round(build_s, 1), "verify_digests_only_s": round(quick_s, 1),
            "verify_full_s": round(full_s, 1), "verify_files_per_s": round(full.files / full_s, 1),
            "ok": full.ok and quick.ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-filing-"))
    try:
        print(json.dumps({"month": close_month(work / "month", args.households),
                          "verify": verify_many(work / "verify", args.files)}, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
