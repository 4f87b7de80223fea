"""Inspection spot checks (seed 001 四(四)): a reproducible random sample of the year's new and
exited households at a rate (12% by default), plus every household with 近亲属备案, as a pull
list sorted by cabinet, box and 件号 so the paper is fetched in one walk."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from archive.home import Home


@dataclass
class PullItem:
    cabinet: str
    village: str
    box: int | None
    item: int | None
    archival_code: str | None
    title: str
    date: str
    household: str
    name: str
    reason: str

    def to_json(self) -> dict:
        return asdict(self)


def population(home: Home, year: int) -> tuple[set[str], set[str]]:
    """(new, exited) households of the year."""
    y = str(year)
    new = {row[0] for row in home.db.execute(
        """SELECT id FROM households WHERE status='active' AND substr(start_date,1,4)=?
           UNION SELECT household_id FROM documents WHERE household_id IS NOT NULL AND status='active'
           AND type IN ('approval','confirmation') AND substr(doc_date,1,4)=?""", (y, y))}
    exited = {row[0] for row in home.db.execute(
        """SELECT household_id FROM documents WHERE household_id IS NOT NULL AND status='active'
           AND type='suspension' AND substr(doc_date,1,4)=?
           UNION SELECT id FROM households WHERE status='stopped' AND substr(updated_at,1,4)=?""", (y, y))}
    return new, exited


def draw_sample(home: Home, year: int, rate: float = 0.12, seed: int | None = None) -> tuple[list[PullItem], dict]:
    new, exited = population(home, year)
    pool = sorted(new | exited)
    size = math.ceil(len(pool) * rate) if pool else 0
    rng = random.Random(seed if seed is not None else year)
    chosen = set(rng.sample(pool, size)) if size else set()
    kin = {row[0] for row in home.db.execute("SELECT id FROM households WHERE kin_filed=1")}
    reasons = {}
    for household in chosen:
        reasons[household] = "新增抽查" if household in new else "退出抽查"
    for household in kin:
        reasons[household] = "近亲属备案（全部核查）" if household not in reasons else reasons[household] + "、近亲属备案"
    items: list[PullItem] = []
    for household, reason in reasons.items():
        head = home.db.execute("SELECT head_name, village FROM households WHERE id=?", (household,)).fetchone()
        rows = home.db.execute(
            """SELECT d.archival_code, d.item_no, d.title, d.doc_date, d.village, b.box_no, b.year
               FROM documents d LEFT JOIN boxes b ON b.id=d.box_id
               WHERE d.household_id=? AND d.status='active' AND d.attached_to IS NULL""", (household,)).fetchall()
        if not rows:
            items.append(PullItem("（无档案）", head["village"], None, None, None, "档案中没有该户文书", "", household,
                                  head["head_name"], reason))
        for row in rows:
            cabinet = f"{row['year']}年" if row["year"] else "未归档"
            items.append(PullItem(cabinet, row["village"] or head["village"], row["box_no"], row["item_no"],
                                  row["archival_code"], row["title"], row["doc_date"], household, head["head_name"], reason))
    villages = home.config.villages
    items.sort(key=lambda i: (i.cabinet == "未归档", i.cabinet, villages.index(i.village) if i.village in villages else 99,
                              i.box or 0, i.item or 0, i.date))
    summary = {"year": year, "rate": rate, "seed": seed if seed is not None else year, "new": len(new),
               "exited": len(exited), "sampled": len(chosen), "kin_filed": len(kin), "households": len(reasons),
               "documents": len(items)}
    return items, summary


PULL_HEADER = ["柜", "村(社区)", "盒号", "件号", "档号", "题名", "日期", "户主", "抽查原因"]
PULL_WIDTHS = [16, 22, 12, 12, 52, 60, 20, 18, 40]
KIND = "抽查调档清单"


@dataclass
class SampleList:
    items: list[PullItem]
    summary: dict
    pdf: Path
    replaced: Path | None = None     # where an earlier list of the same name is kept

    def to_json(self) -> dict:
        return {**self.summary, "pdf": str(self.pdf), "replaced": str(self.replaced) if self.replaced else None,
                "items": [i.to_json() for i in self.items]}


def write_sample_list(home: Home, year: int, rate: float, seed: int | None = None, out: Path | None = None,
                      force: bool = False) -> SampleList:
    """Draw the sample and print its pull list (PDF/A). Without `out` the list is kept in the home
    (documents/YEAR/_抽查/), registered, and an earlier different list of the same year and seed is
    kept under superseded/ and recorded, never overwritten; `out` outside the home is refused when it
    exists unless `force`. The draw is audited."""
    from archive import files
    from archive.catalog import audit, transaction
    from archive.filing.catalogue import table_report
    from archive.filing.outputs import write_output
    from archive.sealing import register_output, register_written

    if out is not None:
        files.check_output(out, force, suffix=".pdf")
    items, summary = draw_sample(home, year, rate, seed)
    rows = [[i.cabinet, i.village, i.box or "", f"{i.item:04d}" if i.item else "", i.archival_code or "未归档",
             i.title, i.date, i.name, i.reason] for i in items]
    pdf, _ = table_report(f"{home.config.township}{year}年度抽查调档清单（比例{rate:.0%}，种子{summary['seed']}）",
                          PULL_HEADER, rows, PULL_WIDTHS)
    replaced = None
    if out is not None:
        files.write_new(out, pdf, force=force)
        register_written(home.db, home.root, home.operator, KIND, out)  # only if written inside the home
        target = out
    else:
        target = home.documents_dir / str(year) / "_抽查" / f"抽查调档清单-{year}年-种子{summary['seed']}.pdf"
        with transaction(home.db):
            replaced = write_output(home, target, pdf, KIND, KIND)
            register_output(home.db, home.root, target, KIND, home.operator)
    with transaction(home.db):
        audit(home.db, home.operator, "sample", str(year), summary)
    return SampleList(items, summary, target, replaced)
