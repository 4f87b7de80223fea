"""Does search find the right household and the right document? recall@5 and precision@5 per
query class, on a synthetic township that is not the demo's (other villages, other surnames and
given names, compound surnames for 4-character names, another seed), with documents generated
by the library (PDF + DOCX, 文号, catalog) and indexed as in the product.

Run by hand:  .venv/bin/python bench/search_quality.py [--households 240] [--seed 23]
                  [--backend whoosh --backend fts5]   (the same township, each index backend)

Query classes: head name, member name (not the 户主), 2-character names, one wrong character at
position 1, 2, 3, 4 (3- and 4-character names, no filter) and in a 2-character name (with the
village filter, as a caseworker narrows it), each twice: the wrong character sounds the same as
the right one (what a pinyin IME slip gives) or is any common character (GB 2312 level 1); a
misspelling that is someone's real name is skipped. ID digits (last 4, last 6,
full), 文号 variants (as printed, [2025]第07号, 2025年7号, without the organ's abbreviation),
phrases (reasons printed in notices).

Relevant: a name (or its misspelling) -> every document of every household with a member of
that name, and the household itself when it has no document yet (a roster-only household is an
answer too); ID digits -> the households with a member whose ID ends so; 文号 -> its document;
phrase -> the documents whose text contains it. recall@5 = relevant found in the first five /
min(5, relevant); precision@5 = relevant among the first five / items shown in the first five
(0 when nothing is shown). The result list is document hits, then household hits.

"tied": the share of a misspelling class's queries where more than one household has a member
one character off the misspelling, so that nothing in the query itself tells which was meant.
"tie-aware": the misspelling classes judged without knowing the name meant: the documents of every
household as close to the misspelling as the one meant (one character off, the differing
character as alike in sound) are answers too, since the query names them all equally; recall@5 is
over min(5, all of them), precision@5 counts any of them. The strict columns stay the first ones.

The queries of each class are split in two halves by a fixed shuffle: "tune" (looked at while
changing the search) and "held-out" (not looked at); both are reported.

Runs against whatever `archive` package is on the path, so the same bench measures the code
before a change:  PYTHONPATH=<old worktree>/src .venv/bin/python bench/search_quality.py
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from archive import sample
from archive.config import Config
from archive.documents.generate import Generator
from archive.home import init_home
from archive.index import store
from archive.roster.importer import import_roster
from archive.search.engine import search

TOWNSHIP = "石门乡"
VILLAGES = ["白云村", "桃源社区", "清水村", "高坡村", "红枫村"]
SURNAMES = "岑柏仝仲伍佘况冼卓厉卞邝邬阮晏柴栾殷祁穆翁耿聂芮蒙蓝裴褚詹谷邢郁钮闵阎雍霍鞠骆鲍麦"
COMPOUND = ["欧阳", "司马", "上官", "诸葛", "东方", "慕容", "皇甫", "令狐"]
GIVEN = "晗昕玥琪瑾璇筠蕾婧妍睿宸铭烨煜锦骁瀚逸皓翊澄瑜珂萱蔓莹霏颖璐钰沛淳谦恺翰弘"


def _common_chars() -> list[str]:
    """GB 2312 level 1: the 3,755 most common characters, the ones an IME offers first."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


COMMON = _common_chars()
REASONS = ["家庭成员有稳定工资收入", "名下有商业用房", "赡养人有赡养能力", "家庭存款超过规定标准", "务工收入增加",
           "家庭拥有机动车辆"]
DAY = dt.date(2025, 8, 12)
PER_CLASS = 40
AMBIGUOUS: dict[str, list[bool]] = defaultdict(list)  # per misspelling class: several households one character off


def make_names(rng: random.Random) -> tuple[Callable[[], str], Callable[..., str]]:
    def surname() -> str:
        return rng.choice(COMPOUND) if rng.random() < 0.12 else rng.choice(SURNAMES)

    def name(family: str | None = None) -> str:
        family = family or surname()
        given = 2 if len(family) == 2 else rng.choice((1, 2, 2))
        return family + "".join(rng.choice(GIVEN) for _ in range(given))

    return surname, name


def build(root: Path, households: int, seed: int):
    """The township: the sample's structure and valid IDs, our own villages and names."""
    rng = random.Random(seed)
    township = sample.make_township(households, DAY.replace(day=1), seed=seed, applicants=0)
    surname, name = make_names(rng)
    for index, household in enumerate(township):
        household.village = VILLAGES[index % len(VILLAGES)]
        family = surname()
        for member in household.members:
            own = member.relation in ("妻子", "丈夫", "母亲")
            member.name = name(None if own else family)
    home = init_home(root / "home", Config(fonds="Z207", county="花溪区", township=TOWNSHIP, villages=VILLAGES,
                                           complaint_phone="0851-83300000", office_phone="0851-83300001"))
    rows = [[row[0], TOWNSHIP, *row[2:]] for row in sample.roster_rows(township)]
    with open(root / "roster.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([sample.ROSTER_HEADER, *rows])
    import_roster(home.db, root / "roster.csv", home.config, "bench")
    generator = Generator(home)
    started = time.perf_counter()
    made = 0
    for household in township:
        if rng.random() < 0.12:
            continue  # roster only: nothing generated yet
        head = household.head.id_number
        kinds = ["approval"] + rng.sample(["refusal", "suspension", "adjustment", "home-visit", "application"], rng.choice((1, 2)))
        for offset, kind in enumerate(kinds):
            params = {}
            if kind in ("refusal", "suspension", "adjustment"):
                params["reason"] = rng.choice(REASONS)
            if kind == "adjustment":
                params["new_amount"] = str(rng.randrange(300, 900, 10))
            generator.household_document(kind, head, DAY + dt.timedelta(days=offset), params)
            made += 1
    store.sync(home)
    print(f"{made} documents for {len(township)} households generated and indexed in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return home


def catalog(home):
    docs_of: dict[str, set[str]] = defaultdict(set)
    for doc_id, household in home.db.execute("SELECT doc_id, household_id FROM documents WHERE household_id IS NOT NULL"):
        docs_of[household].add(doc_id)
    people = [dict(row) for row in home.db.execute(
        "SELECT m.name, m.relation, m.id_number, m.household_id, h.village FROM members m "
        "JOIN households h ON h.id = m.household_id")]
    return docs_of, people


def items_of(households: set[str], docs_of) -> set[str]:
    """A household's documents, or the household itself when it has none."""
    out: set[str] = set()
    for household in households:
        out |= docs_of.get(household) or {f"hh:{household}"}
    return out


def sounds(char: str) -> set[str]:
    from pypinyin import Style, pinyin

    return set(pinyin(char, style=Style.NORMAL, heteronym=True)[0])


INTENDED: dict[int, str] = {}  # query index -> the name a misspelling was made from (for --misses)
TIED: dict[int, bool] = {}     # query index -> its misspelling is one character off several households
# query index -> the documents of every household that the misspelling is as close to as to the one
# meant (one character off, the differing character sounding as much alike): the answers that
# nothing in the query tells apart ("tie-aware" judgement; the strict one knows the name meant)
EQUALLY_CLOSE: dict[int, set[str]] = {}


def make_queries(home, rng: random.Random) -> list[tuple[str, str, dict, set[str]]]:
    docs_of, people = catalog(home)
    by_name: dict[str, set[str]] = defaultdict(set)
    for person in people:
        by_name[person["name"]].add(person["household_id"])
    names = set(by_name)
    queries: list[tuple[str, str, dict, set[str]]] = []

    def add(kind, text, filters, relevant):
        queries.append((kind, text, filters, relevant))

    def ambiguous(typo, village=None):
        """More than one household has a member whose name is one character off the misspelling."""
        close = {p["household_id"] for p in people if len(p["name"]) == len(typo)
                 and sum(a != b for a, b in zip(p["name"], typo, strict=True)) == 1
                 and (village is None or p["village"] == village)}
        return len(close) > 1

    def equally_close(typo, meant, village=None):
        """The households with a member one character off the misspelling, as alike in sound as the
        name meant (archive.search.names.closeness), within the village filter."""
        from archive.search.names import closeness

        level = closeness(typo, meant)
        return {p["household_id"] for p in people if len(p["name"]) == len(typo)
                and sum(a != b for a, b in zip(p["name"], typo, strict=True)) == 1
                and closeness(typo, p["name"]) == level and (village is None or p["village"] == village)}

    heads = [p for p in people if p["relation"] == "本人"]
    others = [p for p in people if p["relation"] != "本人"]
    for person in rng.sample(heads, min(PER_CLASS, len(heads))):
        add("head name", person["name"], {}, items_of(by_name[person["name"]], docs_of))
    for person in rng.sample(others, min(PER_CLASS, len(others))):
        add("member name", person["name"], {}, items_of(by_name[person["name"]], docs_of))
    two = [p for p in people if len(p["name"]) == 2]
    for person in rng.sample(two, min(PER_CLASS, len(two))):
        add("2-char name", person["name"], {}, items_of(by_name[person["name"]], docs_of))

    def misspell(person, position, homophone):
        """The name with one character replaced: by a common character that sounds the same (a pinyin
        IME's slip), or by any common character; never by one that makes someone's real name."""
        original = person["name"][position]
        pool = [c for c in COMMON if c != original and (not homophone or sounds(c) & sounds(original))]
        rng.shuffle(pool)
        for wrong in pool[:50]:
            typo = person["name"][:position] + wrong + person["name"][position + 1:]
            if typo not in names:
                return typo
        return None

    longer = [p for p in people if len(p["name"]) >= 3]
    tied: dict[str, list[bool]] = AMBIGUOUS
    for homophone, label in ((True, "one wrong char (same sound)"), (False, "one wrong char (any)")):
        for position in range(4):
            pool = [p for p in longer if len(p["name"]) > position]
            for person in rng.sample(pool, min(PER_CLASS, len(pool))):
                typo = misspell(person, position, homophone)
                if typo:
                    INTENDED[len(queries)] = person["name"]
                    TIED[len(queries)] = ambiguous(typo)
                    EQUALLY_CLOSE[len(queries)] = items_of(equally_close(typo, person["name"]), docs_of)
                    add(f"{label} @{position + 1}", typo, {}, items_of(by_name[person["name"]], docs_of))
                    tied[f"{label} @{position + 1}"].append(TIED[len(queries) - 1])
        for person in rng.sample(two, min(PER_CLASS, len(two))):
            typo = misspell(person, rng.randrange(2), homophone)
            if typo:
                # the intended person's households in that village
                within = {p["household_id"] for p in people if p["name"] == person["name"] and p["village"] == person["village"]}
                INTENDED[len(queries)] = person["name"]
                TIED[len(queries)] = ambiguous(typo, person["village"])
                EQUALLY_CLOSE[len(queries)] = items_of(equally_close(typo, person["name"], person["village"]), docs_of)
                add(f"{label}, 2-char + village", typo, {"village": person["village"]}, items_of(within, docs_of))
                tied[f"{label}, 2-char + village"].append(TIED[len(queries) - 1])

    for person in rng.sample(people, min(PER_CLASS, len(people))):
        size = rng.choice((4, 6, 18))
        digits = person["id_number"][-size:]
        owners = {p["household_id"] for p in people if p["id_number"].endswith(digits)}
        add("ID digits", digits, {}, items_of(owners, docs_of))

    numbered = home.db.execute("SELECT doc_id, number FROM documents WHERE number IS NOT NULL").fetchall()
    import re

    for doc_id, number in rng.sample(numbered, min(PER_CLASS, len(numbered))):
        prefix, year, seq = re.match(r"^(.+?)〔(\d{4})〕(\d+)号$", number).groups()
        organ = prefix[: prefix.index("民") + 1]
        variant = rng.choice([number, f"{prefix}[{year}]第{int(seq):02d}号", f"{prefix}{year}年{seq}号",
                              f"{prefix[len(organ):]}〔{year}〕{seq}号"])
        add("文号 variants", variant, {}, {doc_id})

    texts = dict(home.db.execute("SELECT doc_id, body_text FROM documents"))
    phrases = REASONS + ["经入户调查", "最低生活保障", "审核确认", "行政复议"]
    for phrase in phrases:
        add("phrase", phrase, {}, {d for d, text in texts.items() if phrase in (text or "")})
    return queries


TOPS: dict[str, list[list[str]]] = defaultdict(list)  # backend -> each query's first five


def evaluate(home, queries, misses: bool = False, backend: str = "") -> dict[tuple[str, str], dict[str, list[float]]]:
    rng = random.Random(5)
    halves: dict[str, list[int]] = defaultdict(list)
    for index, (kind, *_rest) in enumerate(queries):
        halves[kind].append(index)
    half_of: dict[int, str] = {}
    for indexes in halves.values():
        rng.shuffle(indexes)
        for position, index in enumerate(indexes):
            half_of[index] = "tune" if position % 2 == 0 else "held-out"
    scores: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    latencies = []
    for index, (kind, text, filters, relevant) in enumerate(queries):
        started = time.perf_counter()
        result = search(home, text, limit=20, **filters)
        latencies.append(time.perf_counter() - started)
        shown = [hit.doc_id for hit in result.hits] + [f"hh:{h.household}" for h in getattr(result, "households", [])]
        top = shown[:5]
        TOPS[backend].append(top)
        found = sum(1 for item in top if item in relevant)
        recall = found / min(5, len(relevant)) if relevant else 1.0
        precision = found / len(top) if top else (0.0 if relevant else 1.0)
        for half in (half_of[index], "all") + (("untied",) if index in TIED and not TIED[index] else ()):
            scores[(kind, half)]["recall@5"].append(recall)
            scores[(kind, half)]["precision@5"].append(precision)
        if index in EQUALLY_CLOSE:
            fair = EQUALLY_CLOSE[index] | relevant
            hit = sum(1 for item in top if item in fair)
            for half in (f"tie-aware {half_of[index]}", "tie-aware all"):
                scores[(kind, half)]["recall@5"].append(hit / min(5, len(fair)))
                scores[(kind, half)]["precision@5"].append(hit / len(top) if top else 0.0)
        if misses and half_of[index] == "tune" and (recall < 1 or precision < 1):
            _print_miss(home, kind, text, filters, relevant, result, INTENDED.get(index), recall, precision)
    print(f"search latency p50 {statistics.median(latencies) * 1000:.1f} ms over {len(latencies)} queries")
    return scores


def _print_miss(home, kind, text, filters, relevant, result, intended, recall, precision) -> None:
    """One query of the tune half that lost recall or precision: what was meant, what was shown."""
    def who(household):
        row = home.db.execute("SELECT head_name, village FROM households WHERE id=?", (household,)).fetchone()
        return f"{row[0]}/{row[1]}" if row else str(household)

    meant = {item[3:] if item.startswith("hh:") else home.db.execute(
        "SELECT household_id FROM documents WHERE doc_id=?", (item,)).fetchone()[0] for item in relevant}
    print(f"--- {kind}: {text!r} {filters or ''} meant {intended or text} in "
          f"{', '.join(sorted(who(h) for h in meant))}  R {recall:.2f} P {precision:.2f}")
    shown = [(h.doc_id, h.household, h.approximate, h.matched, h.title) for h in result.hits]
    shown += [(f"hh:{h.household}", h.household, h.approximate, h.matched, "(household)") for h in result.households]
    for doc_id, household, approximate, matched, title in shown[:7]:
        mark = "+" if doc_id in relevant else "-"
        print(f"   {mark} {who(household) if household else '?'} {title} {'近似 ' + (matched or '') if approximate else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=240)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--backend", action="append",
                        help="index backend (repeat to compare several on the same township); default: the default")
    parser.add_argument("--json", help="write the figures to this file too")
    parser.add_argument("--misses", action="store_true",
                        help="print the tune half's queries that lost recall or precision (never the held-out half)")
    args = parser.parse_args()
    from archive.index import backend as index_backends

    chosen = args.backend or [os.environ.get(index_backends.BACKEND_ENV) or index_backends.DEFAULT]
    tables = {}
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as work:
        home = build(Path(work), args.households, args.seed)
        queries = make_queries(home, random.Random(args.seed + 1))
        for backend in chosen:
            os.environ[index_backends.BACKEND_ENV] = backend
            store.sync(home, full=True)
            print(f"backend: {backend}")
            tables[backend] = report(queries, evaluate(home, queries, misses=args.misses, backend=backend))
        home.close()
    if len(chosen) > 1:
        first = chosen[0]
        for backend in chosen[1:]:
            for (kind, text, filters, relevant), a, b in zip(queries, TOPS[first], TOPS[backend], strict=True):
                if sum(i in relevant for i in a) != sum(i in relevant for i in b):
                    print(f"  found in the first five ({first} / {backend}): {kind}: {text} {filters or ''}: "
                          f"{sum(i in relevant for i in a)} / {sum(i in relevant for i in b)}")
    if args.json:
        Path(args.json).write_text(json.dumps(tables if len(chosen) > 1 else tables[chosen[0]],
                                              ensure_ascii=False, indent=1))


def report(queries, scores) -> dict:
    kinds = list(dict.fromkeys(kind for kind, *_ in queries))
    counts = {kind: sum(1 for q in queries if q[0] == kind) for kind in kinds}
    print(f"{'class':<46}{'n':>4}  {'tune R/P':>12}  {'held-out R/P':>13}  {'all R/P':>12}  tied  untied R/P"
          "  tie-aware held-out R/P, all R/P")
    table = {}
    for kind in kinds:
        cells = []
        for half in ("tune", "held-out", "all"):
            values = scores.get((kind, half))
            if not values:
                cells.append("-")
                continue
            r, p = statistics.mean(values["recall@5"]), statistics.mean(values["precision@5"])
            cells.append(f"{r:.2f}/{p:.2f}")
            table.setdefault(kind, {})[half] = {"recall@5": round(r, 3), "precision@5": round(p, 3)}
        tied = AMBIGUOUS.get(kind)
        share = f"{sum(tied) / len(tied):.2f}" if tied else ""
        untied = ""
        if tied:
            table[kind]["tied"] = round(sum(tied) / len(tied), 3)
            values = scores.get((kind, "untied"))
            if values:
                r, p = statistics.mean(values["recall@5"]), statistics.mean(values["precision@5"])
                untied = f"{r:.2f}/{p:.2f} (n {len(values['recall@5'])})"
                table[kind]["untied"] = {"recall@5": round(r, 3), "precision@5": round(p, 3)}
            for half in ("tie-aware held-out", "tie-aware all"):
                values = scores.get((kind, half))
                if values:
                    r, p = statistics.mean(values["recall@5"]), statistics.mean(values["precision@5"])
                    untied += f"  {r:.2f}/{p:.2f}"
                    table[kind][half] = {"recall@5": round(r, 3), "precision@5": round(p, 3)}
        print(f"{kind:<46}{counts[kind]:>4}  {cells[0]:>12}  {cells[1]:>13}  {cells[2]:>12}  {share:>4}  {untied}")
    return table


if __name__ == "__main__":
    main()
