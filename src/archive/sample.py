"""A synthetic township for the demo, the tests and the benchmarks: households with valid
(synthetic) ID numbers, written as a roster file in the provincial export layout."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from archive import idcard

REGION = "520111"  # 贵阳市花溪区
TOWNSHIP = "青岩镇"
COUNTY = "花溪区"
FONDS = "Z109"
OPERATOR = "王敏"  # the demo township's archivist (整理人 on the 备考表)
VILLAGES = ["龙井村", "思潜村", "新关村", "杨眉村", "北街社区"]

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "德志明华建国文玉兰秀英芳丽军平红春梅海林成福祥贵珍桂荣金凤云霞刚强伟敏静磊洋勇杰娟涛超秀兵燕艳丹萍宇浩然思雨欣怡子轩梓涵俊熙"


@dataclass
class SampleMember:
    name: str
    relation: str
    id_number: str


@dataclass
class SampleHousehold:
    village: str
    category: str
    amount: float
    start: dt.date
    status: str = "在保"
    kin_filed: bool = False
    members: list[SampleMember] = field(default_factory=list)

    @property
    def head(self) -> SampleMember:
        return self.members[0]


class _Ids:
    """Unique valid ID numbers; the sequence code's parity gives the sex (GB 11643)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self, birth: dt.date, female: bool) -> str:
        while True:
            serial = self.rng.randrange(0, 500) * 2 + (0 if female else 1)
            number = idcard.make(REGION, birth, serial)
            if number not in self.used:
                self.used.add(number)
                return number


def _birth(rng: random.Random, first: int, last: int) -> dt.date:
    start = dt.date(first, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randint(start, dt.date(last, 12, 28).toordinal()))


def _name(rng: random.Random, surname: str | None = None) -> str:
    return (surname or rng.choice(_SURNAMES)) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))


def make_township(count: int, month: dt.date, seed: int = 7, new_share: float = 0.08,
                  applicants: int = 4) -> list[SampleHousehold]:
    """`count` assisted households, about `new_share` of them decided in `month` (payment from the
    next month), plus a few applicants still being decided."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    households = []
    next_month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    for index in range(count + applicants):
        village = VILLAGES[index % len(VILLAGES)]
        roll = rng.random()
        category = "低保" if roll < 0.72 else "特困" if roll < 0.86 else "低保边缘" if roll < 0.96 else "临时救助"
        head_female = rng.random() < 0.35
        head_birth = _birth(rng, 1940, 1985)
        surname = rng.choice(_SURNAMES)
        members = [SampleMember(_name(rng, surname), "本人", ids.make(head_birth, head_female))]
        if category != "特困":
            if rng.random() < 0.7:
                members.append(SampleMember(_name(rng), "妻子" if not head_female else "丈夫",
                                            ids.make(_birth(rng, head_birth.year - 3, min(head_birth.year + 5, 1990)), not head_female)))
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                female = rng.random() < 0.5
                members.append(SampleMember(_name(rng, surname), "女儿" if female else "儿子",
                                            ids.make(_birth(rng, max(head_birth.year + 20, 2000), 2020), female)))
            if rng.random() < 0.15 and head_birth.year >= 1955:
                members.append(SampleMember(_name(rng, surname), "母亲", ids.make(_birth(rng, head_birth.year - 40, head_birth.year - 20), True)))
        covered = len(members)
        if category == "特困":
            amount = 1105.0
        elif category == "临时救助":
            amount = float(rng.choice((500, 800, 1000, 1500)))
        elif category == "低保边缘":
            amount = 0.0
        else:
            amount = float(covered * rng.choice(range(300, 860, 10)))
        if index >= count:
            status, start = "申请中", month + dt.timedelta(days=rng.randint(0, 9))
        elif rng.random() < new_share:
            status, start = "在保", next_month
        else:
            status, start = "在保", dt.date(rng.randint(2016, month.year - 1), rng.randint(1, 12), 1)
        households.append(SampleHousehold(village, category, amount, start, status,
                                          kin_filed=rng.random() < 0.03, members=members))
    return households


ROSTER_HEADER = ["序号", "乡镇（街道）", "村（社区）", "户主姓名", "成员姓名", "与户主关系", "身份证号",
                 "保障类别", "保障人数", "月保障金额（元）", "开始日期", "近亲属备案", "状态"]


def roster_rows(households: list[SampleHousehold]) -> list[list[object]]:
    rows: list[list[object]] = []
    for serial, household in enumerate(households, start=1):
        for member in household.members:
            rows.append([serial, TOWNSHIP, household.village, household.head.name, member.name,
                         member.relation, member.id_number, household.category, len(household.members),
                         household.amount, household.start.isoformat(),
                         "是" if household.kin_filed else "否", household.status])
    return rows


def write_roster_xlsx(households: list[SampleHousehold], path: Path, title: str | None = None) -> Path:
    """The provincial export layout: a title row, then the header, one row per member."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append([title or f"{TOWNSHIP}社会救助对象花名册"])
    sheet.append(ROSTER_HEADER)
    # the row number counted here: openpyxl's max_row looks at every cell (quadratic over a roster)
    for number, row in enumerate(roster_rows(households), start=3):
        sheet.append(row)
        sheet.cell(number, 7).number_format = "@"
    from archive.workbooks import neutralise

    neutralise(book)
    book.save(path)
    return path


def write_roster_csv(households: list[SampleHousehold], path: Path) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(ROSTER_HEADER)
        writer.writerows(roster_rows(households))
    return path
