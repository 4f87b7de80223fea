"""Two processes generating notices at the same time get distinct numbers with no gaps."""

import datetime as dt
import multiprocessing as mp
from pathlib import Path

from archive.documents.generate import format_number

PG_CATALOG = True  # the numbering guarantee is checked on SQLite and on PostgreSQL (advisory lock)


def _generate(root: str, heads: list[str], tag: str) -> list[str]:
    from archive.documents.generate import Generator
    from archive.home import Home

    home = Home(Path(root))
    generator = Generator(home)
    numbers = [generator.household_document("refusal", head, dt.date(2025, 7, 8), {"reason": f"{tag}{i}"}).number
               for i, head in enumerate(heads)]
    home.close()
    return numbers


def test_parallel_processes_number_without_gaps_or_duplicates(home, township):
    heads = [h.head.id_number for h in township][:16]
    root = str(home.root)
    home.close()
    context = mp.get_context("spawn")  # real separate processes, each with its own connection
    with context.Pool(2) as pool:
        results = pool.starmap(_generate, [(root, heads[:8], "甲"), (root, heads[8:], "乙")])
    numbers = results[0] + results[1]
    assert len(set(numbers)) == 16
    assert sorted(numbers, key=lambda n: int(n.split("〕")[1][:-1])) == [
        format_number("青岩", "不批", 2025, n) for n in range(1, 17)]
    # and each process saw its own numbers rising
    for own in results:
        seqs = [int(n.split("〕")[1][:-1]) for n in own]
        assert seqs == sorted(seqs)
