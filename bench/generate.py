"""Generation speed: PDF and DOCX notices per second, and a township's month.

Run by hand (not in the test suite):  .venv/bin/python bench/generate.py [--notices 1000] [--month-notices 500]

Prints:
  - PDF render rate over N refusal notices with stubs (1 process and 2 processes),
  - DOCX render rate over the same notices,
  - the time to produce a township's month: M notices with stubs through the full pipeline
    (文号 allocation, PDF + DOCX, atomic file writes, catalog rows), 1 process and 2 at once,
  - the peer: the usual office route, a DOCX converted to PDF by LibreOffice (when installed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archive import sample
from archive.config import Config
from archive.documents import templates
from archive.documents.docxwriter import write_docx
from archive.documents.generate import Generator
from archive.documents.pdfwriter import write_pdf
from archive.home import Home, init_home
from archive.rendering.fonts import resolve
from archive.roster.importer import import_roster

DAY = dt.date(2025, 7, 8)
REASONS = ["家庭人均收入高于当地最低生活保障标准", "家庭拥有机动车辆", "家庭存款超过规定标准"]


def make_home(root: Path, households: int) -> tuple[Home, list[str]]:
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES),
                    complaint_phone="0851-83200000")
    home = init_home(root, config)
    township = sample.make_township(households, DAY.replace(day=1), seed=1, applicants=0)
    import_roster(home.db, sample.write_roster_xlsx(township, root / "roster.xlsx"), home.config, "bench")
    return home, [h.head.id_number for h in township]


def documents(home: Home, heads: list[str], count: int):
    """Rendered refusal notices (with stubs), ready for the writers."""
    from archive.documents.context import (
        derived_dates,
        field_values,
        household_context,
        office_context,
    )
    from archive.roster.households import get_household

    template = templates.load_template("refusal")
    out = []
    for index in range(count):
        household = get_household(home.db, heads[index % len(heads)])
        context = office_context(home.config, template, DAY)
        context.update(household_context(household, DAY))
        context.update(derived_dates(DAY))
        context.update(field_values(template, {"reason": REASONS[index % 3]}, context))
        context.update(doc_id=f"Z109-{index:07d}", number=f"青岩民不批〔2025〕{index + 1}号")
        document = templates.render(template, context)
        document.doc_id, document.number = context["doc_id"], context["number"]
        out.append(document)
    return out


def _pdf_worker(docs) -> int:
    fonts = resolve()
    write_pdf(docs[0], fonts)  # font loading is start-up cost, not per notice
    start = time.perf_counter()
    for document in docs:
        write_pdf(document, fonts)
    return time.perf_counter() - start


def pdf_rate(docs, processes: int) -> float:
    if processes == 1:
        return len(docs) / _pdf_worker(docs)
    chunks = [docs[i::processes] for i in range(processes)]
    with mp.get_context("fork").Pool(processes) as pool:
        start = time.perf_counter()
        pool.map(_pdf_worker, chunks)
        # wall time includes each worker's font loading; report the conservative figure
        return len(docs) / (time.perf_counter() - start)


def docx_rate(docs) -> float:
    start = time.perf_counter()
    for document in docs:
        write_docx(document)
    return len(docs) / (time.perf_counter() - start)


def _month_worker(root: str, heads: list[str], tag: str) -> float:
    generator = Generator(Home(Path(root)))
    start = time.perf_counter()
    for index, head in enumerate(heads):
        kind = ("refusal", "suspension", "adjustment")[index % 3]
        params = {"reason": f"{REASONS[index % 3]}{tag}"}
        if kind == "adjustment":
            params["new_amount"] = "300"
        generator.household_document(kind, head, DAY, params)
    return time.perf_counter() - start


def month_time(root: Path, notices: int, processes: int) -> tuple[float, int]:
    home, heads = make_home(root, notices)
    home.close()
    chunks = [heads[i::processes] for i in range(processes)]
    start = time.perf_counter()
    if processes == 1:
        _month_worker(str(root), chunks[0], "")
    else:
        with mp.get_context("spawn").Pool(processes) as pool:
            pool.starmap(_month_worker, [(str(root), chunk, f"#{i}") for i, chunk in enumerate(chunks)])
    elapsed = time.perf_counter() - start
    check = Home(root)
    numbers = [r[0] for r in check.db.execute("SELECT number_seq FROM documents ORDER BY number_code, number_seq")]
    count = len(numbers)
    check.close()
    return elapsed, count


def signed_rate(root: Path, notices: int) -> float:
    """Refusal notices with the seal, the approver's signature and a PAdES signature, through the
    full pipeline (文号, PDF, signing, DOCX, files, catalog)."""
    import os
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from archive.signing.keys import add_signer, set_seal
    from tests.signfixtures import make_p12, make_seal, make_signature

    home, heads = make_home(root, notices)
    os.environ["ARCHIVE_SIGN_PASSWORD"] = "bench"
    set_seal(home, make_seal(root / "seal.png"))
    add_signer(home, "王明", "镇长", make_signature(root / "sig.png"), make_p12(root / "c.p12", "bench"))
    generator = Generator(home)
    generator.household_document("refusal", heads[0], DAY, {"reason": "warm-up"}, approver="王明")
    started = time.perf_counter()
    for index, head in enumerate(heads[1:notices]):
        generator.household_document("refusal", head, DAY, {"reason": REASONS[index % 3]}, approver="王明")
    return (notices - 1) / (time.perf_counter() - started)


def peer_libreoffice(docs, workdir: Path, count: int = 20) -> float | None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None
    folder = workdir / "lo"
    folder.mkdir()
    paths = []
    for index, document in enumerate(docs[:count]):
        path = folder / f"n{index}.docx"
        path.write_bytes(write_docx(document))
        paths.append(str(path))
    start = time.perf_counter()
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(folder), *paths],
                   check=True, capture_output=True, timeout=600)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--month-notices", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        home, heads = make_home(work / "render", 200)
        docs = documents(home, heads, args.notices)
        pages = sum(1 + bool(d.stub) for d in docs)
        results = {"notices": args.notices, "pages": pages}
        results["pdf_per_s_1proc"] = round(pdf_rate(docs, 1), 1)
        results["pdf_per_s_2proc"] = round(pdf_rate(docs, 2), 1)
        results["docx_per_s_1proc"] = round(docx_rate(docs), 1)
        for processes in (1, 2):
            elapsed, count = month_time(work / f"month{processes}", args.month_notices, processes)
            results[f"month_{count}_notices_{processes}proc_s"] = round(elapsed, 1)
        results["signed_notices_per_s"] = round(signed_rate(work / "signed", min(200, args.notices)), 1)
        peer = peer_libreoffice(docs, work)
        results["peer_libreoffice_docx_to_pdf_per_s"] = round(peer, 2) if peer else "not installed"
        print(json.dumps(results, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
