"""`archive demo`: a sample township in a fresh archive home, and a month of its documents."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from archive import sample
from archive.config import Config
from archive.dates import add_working_days, cn_date, cn_month, month_end, parse_month
from archive.documents.generate import Generator
from archive.errors import ArchiveError, ConflictError
from archive.home import CONFIG_NAME, init_home
from archive.roster.importer import import_roster

DEMO_MARKER = ".archive-demo"


def fresh_demo_home(root: Path) -> None:
    """Start from an empty folder. Only a folder the demo made itself is ever removed."""
    if root.exists() and any(root.iterdir()):
        if not (root / DEMO_MARKER).exists():
            raise ConflictError(f"{root} 不是空目录，也不是样例档案库，不会清空它",
                               hint="请用 --home 指定一个新目录")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARKER).write_text("本目录由 archive demo 生成，再次运行 demo 会清空重建。\n", encoding="utf-8")


def run_demo(root: Path, *, households: int = 300, month: str = "2025-07", seed: int = 7,
             echo: Callable[[str], None] = print) -> dict[str, int]:
    started = time.perf_counter()
    first = parse_month(month)
    root = root.resolve()
    fresh_demo_home(root)
    config = Config(fonds=sample.FONDS, county=sample.COUNTY, township=sample.TOWNSHIP,
                    villages=list(sample.VILLAGES), province="贵州省", city="贵阳市",
                    complaint_phone="0851-83200000", office_phone="0851-83200001", dibao_standard=850,
                    operator=sample.OPERATOR)
    home = init_home(root, config)
    assert (root / CONFIG_NAME).exists()
    echo(f"① 新建样例档案库：{root}（{config.county}{config.township}，{len(config.villages)} 个村(社区)）")

    township = sample.make_township(households, first, seed=seed)
    roster_file = sample.write_roster_xlsx(township, root / "样例花名册.xlsx")
    result = import_roster(home.db, roster_file, home.config, home.operator)
    echo(f"② 导入花名册 {roster_file.name}：{result.households} 户 {result.members} 人")

    generator = Generator(home)
    rng = random.Random(seed)
    counts = run_casework(generator, township, first, rng, echo)
    sheets = generator.month_sheets(first)
    counts["roster"] = len(sheets)
    generator.month_document("dynamic-record", first)
    counts["dynamic-record"] += 1
    for village in config.villages:
        try:
            generator.village_document("standing-publicity", village, day=month_end(first))
            counts["standing-publicity"] += 1
        except ArchiveError:
            pass  # a village with no assisted household posts no list
    echo(f"⑥ 月末（{cn_date(month_end(first))}）：花名册和人数资金统计表 {'、'.join(Path(s.xlsx).name for s in sheets)}；"
         f"动态管理记录 1 份（本月每一项申请、调查、公示、决定、复核）；各村长期公示 {counts['standing-publicity']} 份（含监督电话）")

    numbered = home.db.execute(
        "SELECT number FROM documents WHERE number IS NOT NULL ORDER BY number_code, number_seq LIMIT 3").fetchall()
    total = sum(counts.values())
    echo(f"   共生成 {total} 份文书（PDF 和 DOCX），文号示例：{'、'.join(r['number'] for r in numbered)}")

    scans = make_signed_scans(home, rng)
    echo(f"⑦ 把签字盖章后的告知书做成模拟扫描件 {scans} 份（旋转、歪斜、噪点、JPEG、红章压字），"
         f"另放入户口簿复印件、损坏的 PDF 各一份，放进收件箱 {home.inbox_dir.name}/")
    from archive.scans.ingest import Ingester, summary_zh

    records = Ingester(home, workers=2).run([home.inbox_dir])
    echo(f"⑧ 导入扫描件：{summary_zh(records)}")
    for record in records:
        if record.status in ("review", "quarantined"):
            echo(f"   {Path(record.source).name}：{record.reason}")

    from archive.filing.month import file_month

    filed = file_month(home, first)
    kinds: dict[str, int] = {}
    for finding in filed.findings:
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    echo(f"⑨ 月末归档 {filed.month}：{len(filed.items)} 件编档号、盖归档章（{filed.items[0].archival_code} 等），"
         f"{filed.attached} 份原稿随签收件归档，涉及 {len(filed.boxes)} 个村盒；完整性检查："
         + ("、".join(f"{k} {v} 处" for k, v in kinds.items()) or "未发现问题"))
    echo(f"   归档文件目录：{home.root / filed.outputs[f'归档文件目录-{filed.month}.pdf']}")

    from archive.index.store import sync

    indexed = sync(home)
    echo(f"⑩ 全文索引：写入 {indexed.written} 份文书，用时 {indexed.seconds:.1f} 秒")
    run_searches(home, township, echo)

    from archive.filing.verify import verify

    checked = verify(home)
    echo(f"⑫ 四性检测：{checked.files} 个文件，" + ("全部通过" if checked.ok else f"发现 {len(checked.findings)} 个问题"))
    echo(f"文件在 {home.documents_dir}，总用时 {time.perf_counter() - started:.1f} 秒")
    tell_web(home, echo)
    home.close()
    return dict(counts)


def run_casework(generator: Generator, township: list, first: dt.date, rng: random.Random,
                 echo: Callable[[str], None]) -> Counter[str]:
    """A month of casework in the order it happens, each date consistent with the last: new
    applications and their investigation within 3 working days; each village's 审核确认公示单
    posted for the households investigated; the approvals after the publicity period has ended
    (citing it); refusals; a 复核 round whose results are the month's adjustments and stops; an
    urgent 临时救助 case helped first and recorded after."""
    counts: Counter[str] = Counter()
    config = generator.config
    last = month_end(first)

    def working(start: dt.date, days: int) -> dt.date:
        return add_working_days(start, days)

    def issue(doc_type: str, household, day: dt.date, params: dict[str, str] | None = None) -> None:
        generator.household_document(doc_type, household.head.id_number, day, params)
        counts[doc_type] += 1

    # 1. applications (first working days of the month) and the investigation within 3 working days
    new = [h for h in township if h.status == "在保" and h.start > last]
    for household in new:
        applied = working(first - dt.timedelta(days=1), rng.randint(1, 5))
        for doc_type in ("application", "declaration", "authorization"):
            issue(doc_type, household, applied)
        visited = working(applied, rng.randint(1, 3))
        issue("home-visit", household, visited)
        if household.category == "特困":  # the 特困 application form and the six-item self-care assessment
            issue("tekun-application", household, applied, {"reason": "无劳动能力、无生活来源、无法定赡养扶养义务人"})
            issue("self-care", household, visited, {"bathing": "不能", "assessor": "村民委员会 评估小组"})
    echo(f"③ {cn_date(first)}起 新申请 {len(new)} 户：申请书、声明、授权书，3个工作日内入户调查（入户调查表）；"
         f"其中特困 {counts['tekun-application']} 户另有救助供养申请审批表和生活自理能力评估表")

    # 2. each village posts the households proposed for approval, after the investigations
    posted_on = working(first + dt.timedelta(days=9), 1)
    period_end = posted_on - dt.timedelta(days=1)
    publicity_to = posted_on + dt.timedelta(days=int(config.publicity_days) - 1)
    for village in config.villages:
        try:
            generator.publicity(village, first, period_end, posted_on)
            counts["publicity"] += 1
        except ArchiveError:
            pass  # no household proposed in that village this month
    echo(f"④ {cn_date(posted_on)} 各村张贴审核确认公示单 {counts['publicity']} 份，公示至 {cn_date(publicity_to)}"
         "（只显示户主姓名、家庭人口、保障金额）")

    # 3. approvals once the publicity period has ended without objection, citing it
    for household in new:
        decided = working(publicity_to, rng.randint(1, 4))
        cited = {"publicity_to": publicity_to.isoformat()}
        issue("approval", household, decided)
        issue("confirmation", household, decided, cited)
    echo(f"   公示期满无异议后审核确认：审核确认表、审核确认通知书（写明公示期）各 {counts['confirmation']} 份，"
         f"{cn_month(last + dt.timedelta(days=1))}起发放")

    # 4. applications refused on the family's economic check
    applicants = [h for h in township if h.status == "申请中"]
    reasons = ["家庭人均收入高于当地最低生活保障标准", "家庭拥有机动车辆且不属于规定的例外情形",
               "共同生活家庭成员名下有经营性公司", "家庭存款超过规定标准"]
    for household, reason in zip(applicants, reasons, strict=False):
        issue("application", household, household.start)
        decided = working(household.start, rng.randint(12, 15))
        issue("refusal", household, working(decided, 1), {"reason": reason, "apply_date": household.start.isoformat(),
                                                          "decision_date": decided.isoformat()})

    # 5. the 复核 round: its results are the month's adjustments and stops
    active = [h for h in township if h.status == "在保" and h.start <= first and h.category == "低保"]
    picked = rng.sample(active, min(len(active), 12))
    for index, household in enumerate(picked):
        reviewed = working(first, 2 + index % 5)
        acted = working(reviewed, 5)
        if index < 3:
            issue("review", household, reviewed, {"review_result": "停止保障", "irregular_income": "是",
                                                  "note": "家庭成员务工收入增加"})
            issue("suspension", household, acted,
                  {"reason": "家庭成员务工收入增加，家庭人均收入超过当地最低生活保障标准"})
        elif index < 7:
            issue("review", household, reviewed, {"review_result": "调整保障金额", "note": "家庭收入发生变化"})
            new_amount = max(household.amount - 100 * rng.randint(1, 3), 100)
            issue("adjustment", household, acted, {"new_amount": str(new_amount), "reason": "定期复核中家庭收入发生变化"})
        else:
            issue("review", household, reviewed)

    # 6. an urgent 临时救助 case: helped first, its form completed afterwards
    urgent = next((h for h in township if h.status == "在保" and h.start <= first and h.category == "临时救助"), None)
    if urgent is not None:
        helped = working(first, 9)
        issue("temporary-aid", urgent, working(helped, 2),
              {"aid_type": "急难型", "helped_on": helped.isoformat(), "amount": "1500",
               "reason": "家庭成员突发疾病住院，自付医疗费用较高，基本生活暂时出现严重困难"})
    echo(f"⑤ 不予批准告知书 {counts['refusal']} 份；定期复核 {counts['review']} 户（低保家庭定期复核表），"
         f"据复核结果停发告知书 {counts['suspension']} 份、调整告知书 {counts['adjustment']} 份（均含存根）；"
         f"急难型临时救助 {counts['temporary-aid']} 户（先行救助、事后补齐审批表）")
    return counts


def archive_command() -> str:
    """How a user runs this installation's `archive`: the bare name when it is on PATH, else the
    script beside the running Python (the project's .venv/bin/archive after scripts/setup.sh)."""
    import sys

    beside = Path(sys.executable).parent / "archive"
    found = shutil.which("archive")
    if not beside.exists() or (found and Path(found).resolve() == beside.resolve()):
        return "archive"
    try:
        return str(beside.relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


def tell_web(home, echo: Callable[[str], None]) -> None:
    """How to open the web application on the demo home, with one demo user per role."""
    from archive.users import add_demo_users

    echo("网页版：运行下面的命令，再用浏览器打开 http://127.0.0.1:8000/ ，用以下演示账号登录（密码仅用于本样例档案库）：")
    echo(f"   {archive_command()} --home {home.root} serve")
    for user, password in add_demo_users(home):
        echo(f"   {user.role_title}：用户名 {user.name}  密码 {password}")


def make_signed_scans(home, rng: random.Random) -> int:
    """Signed and sealed notices as they come back from the scanner or a phone."""
    from archive.scans.synthetic import Degradation, save_scan, scan_of, text_layer_pdf

    rows = home.db.execute(
        "SELECT doc_id, pdf_path, type FROM documents WHERE type IN ('refusal','suspension','adjustment') "
        "ORDER BY doc_id").fetchall()
    rows += home.db.execute(
        "SELECT doc_id, pdf_path, type FROM documents WHERE type='confirmation' ORDER BY doc_id LIMIT 3").fetchall()
    specs = [Degradation(dpi=300, seal=True, signature=True),
             Degradation(dpi=200, rotation=180, skew=1.5, noise=6, jpeg=70, seal=True),
             Degradation(dpi=300, rotation=90, skew=-2.0, seal=True),
             Degradation(dpi=200, skew=3.0, blur=1.0, noise=8, jpeg=60, seal=True)]
    for index, row in enumerate(rows):
        spec = specs[index % len(specs)]
        image = scan_of(home.root / row["pdf_path"], spec, rng, seal_on=home.config.office)
        suffix = ".jpg" if spec.jpeg else ".png"
        save_scan(image, home.inbox_dir / f"扫描{index + 1:03d}-{spec.label()}{suffix}", spec.dpi, spec.jpeg)
    # a copy of a household register page from another system (born-digital, with a text layer)
    member = home.db.execute(
        "SELECT m.name, m.id_number FROM members m JOIN households h ON h.id=m.household_id "
        "WHERE m.relation != '本人' AND h.status='active' LIMIT 1").fetchone()
    text_layer_pdf(home.inbox_dir / "户口簿复印件.pdf",
              ["常住人口登记卡", f"姓名 {member['name']}", f"公民身份号码 {member['id_number']}"])
    damaged = (home.inbox_dir / "户口簿复印件.pdf").read_bytes()
    (home.inbox_dir / "传输中断.pdf").write_bytes(damaged[: len(damaged) // 2])
    return len(rows)


def run_searches(home, township, echo: Callable[[str], None]) -> None:
    from archive.search.engine import search

    refused = home.db.execute("SELECT number, household_id FROM documents WHERE type='refusal' AND origin='generated' LIMIT 1").fetchone()
    member = home.db.execute(
        "SELECT m.name, m.id_number FROM members m JOIN documents d ON d.household_id=m.household_id "
        "WHERE m.relation != '本人' AND d.origin='scan' LIMIT 1").fetchone()
    queries = [
        (member["name"], {}, "家庭成员姓名（非户主）"),
        (member["id_number"][-6:], {}, "身份证号后6位"),
        (refused["number"].replace("〔", "[").replace("〕", "]"), {}, "文号（方括号写法）"),
        ("机动车辆", {"village": None}, "正文短语"),
        ("停发", {"month": home.db.execute("SELECT substr(min(doc_date),1,7) FROM documents WHERE type='suspension'").fetchone()[0]}, "短语 + 月份筛选"),
    ]
    echo("⑪ 检索示例（结果显示纸质档案所在位置）：")
    for text, filters, label in queries:
        filters = {k: v for k, v in filters.items() if v}
        result = search(home, text, **filters)
        shown = " ".join(f"--{k} {v}" for k, v in filters.items())
        echo(f"   · {label}「{text}」{shown}：{result.total} 份，{result.seconds * 1000:.0f} 毫秒")
        for group in result.groups()[:2]:
            first = group.hits[0]
            echo(f"       {group.name or '未关联家庭'}（{group.village or ''}）{first.title} {first.number or ''} "
                 f"{first.location}  {first.snippet[:40]}")
