"""Document types come from the templates (issue #12 point 1): a new YAML file in a home's
templates/ is generated, recognised on a scan, filed by its category and found by search, with
no code change; commands take the Chinese title; `archive types` lists the registry."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from archive.documents.types import filing_class, registry
from archive.errors import BadInputError, ExitCode, TemplateError
from archive.index import store
from archive.scans.ingest import Ingester
from tests.conftest import run_cli
from tests.helpers import docx_text, pdf_text
from tests.scanfixtures import text_pdf

WINTER = """\
id: winter-aid
title: 冬春生活救助通知书
scope: household
category: 日常管理类
number: 冬春
notice: true
fields:
  amount:
    label: 救助金额（元）
    kind: money
    required: true
    help: 一次性发放
  goods:
    label: 救助物资
    kind: choice
    choices: [棉被, 棉衣, 煤炭]
    default: 棉被
body:
  - title: 冬春生活救助通知书
  - number: "{{ number }}"
  - paragraph: "{{ head_name }}："
    indent: 0
  - paragraph: 经审核，决定给予你家冬春生活救助金{{ amount|money }}元（{{ amount|rmb_upper }}）及{{ goods }}一份。
  - sign_off:
      org: "{{ office }}"
      date: "{{ date_cn }}"
      seal: true
"""


def _add_type(home, text: str = WINTER, name: str = "winter-aid") -> None:
    home.templates_dir.mkdir(exist_ok=True)
    (home.templates_dir / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_a_new_template_is_generated_recognised_filed_and_found(home, township, head_id):
    _add_type(home)
    root = str(home.root)
    # generate, by its Chinese title
    result = run_cli("--home", root, "generate", "冬春生活救助通知书", "--household", head_id, "--date", "2025-07-10",
                     "--set", "amount=300", "--set", "goods=煤炭", "--json")
    assert result.exit_code == 0, result.stderr
    made = json.loads(result.output.splitlines()[-1])
    assert made["type"] == "winter-aid" and made["number"] == "青岩民冬春〔2025〕1号"
    for text in (pdf_text(made["pdf"]), docx_text(made["docx"])):
        compact = re.sub(r"\s+", "", text)
        assert "冬春生活救助金300.00元（叁佰元整）及煤炭一份" in compact
    # a scan of a paper copy without our QR code: recognised by its title, filed to the household by the ID number
    name = next(h.head.name for h in township if h.head.id_number == head_id)
    text_pdf(home.inbox_dir / "冬春.pdf", ["冬春生活救助通知书", f"{name}：", f"公民身份号码 {head_id}", "2025年7月12日"])
    records = Ingester(home, "fake").run([home.inbox_dir])
    assert [(r.status, r.type, r.household) for r in records] == [("filed", "winter-aid", head_id)]
    assert home.db.execute("SELECT title FROM documents WHERE doc_id=?", (records[0].doc_id,)).fetchone()[0] == "冬春生活救助通知书"
    # filed by its category: 日常管理类 is D10 (a 审批类 type would be D30)
    assert run_cli("--home", root, "file-month", "2025-07").exit_code in (0, 1)
    codes = [row[0] for row in home.db.execute("SELECT archival_code FROM documents WHERE type='winter-aid'")]
    assert len(codes) == 2 and all(code and "-D10-" in code for code in codes)
    # found by search, the type given by its title or its id
    store.sync(home)
    for type_name in ("冬春生活救助通知书", "winter-aid"):
        found = run_cli("--home", root, "search", "冬春生活救助", "--type", type_name, "--json")
        assert found.exit_code == 0, found.stderr
        hits = [json.loads(line) for line in found.output.splitlines()]
        assert {hit["doc_id"] for hit in hits} == {made["doc_id"], records[0].doc_id}
    # listed with its field metadata, as the web form needs it
    listed = [json.loads(line) for line in run_cli("--home", root, "types", "--json").output.splitlines()]
    winter = next(t for t in listed if t["id"] == "winter-aid")
    assert winter["title"] == "冬春生活救助通知书" and winter["source"] == "home" and winter["scope"] == "household"
    assert winter["category"] == "日常管理类" and winter["options"] == ["household"] and winter["notice"] is True
    assert winter["fields"][0] == {"name": "amount", "label": "救助金额（元）", "kind": "money", "required": True,
                                   "default": None, "choices": [], "help": "一次性发放", "min": None, "max": None,
                                   "max_length": None}
    assert winter["fields"][1]["kind"] == "choice" and winter["fields"][1]["choices"] == ["棉被", "棉衣", "煤炭"]


def test_category_decides_the_filing_class(home):
    assert filing_class(home, "refusal") == ("日常管理类", "D10")
    assert filing_class(home, "approval") == ("审批类", "D30")
    assert filing_class(home, "hukou") == ("审批类", "D30")
    _add_type(home, WINTER.replace("category: 日常管理类", "category: 审批类"))
    assert filing_class(home, "winter-aid") == ("审批类", "D30")
    home.config.filing["type_classes"]["winter-aid"] = "日常管理类"  # config.yaml still overrides
    assert filing_class(home, "winter-aid") == ("日常管理类", "D10")


def test_commands_take_the_chinese_title_and_list_the_types_when_unknown(home, head_id):
    root = str(home.root)
    result = run_cli("--home", root, "generate", "不予批准告知书", "--household", head_id, "--date", "2025-07-08",
                     "--set", "reason=家庭人均收入高于当地最低生活保障标准", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.output.splitlines()[-1])["type"] == "refusal"
    result = run_cli("--home", root, "generate", "不存在的告知书", "--household", head_id)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "未知的文书类型「不存在的告知书」" in result.stderr
    assert "refusal（不予批准告知书）" in result.stderr and "zero-report（社会救助零报告）" in result.stderr
    # a type made for a village asks for its village, in Chinese
    result = run_cli("--home", root, "generate", "长期公示", "--date", "2025-07-31")
    assert result.exit_code == ExitCode.USAGE and "--village" in result.stderr
    # certificates are recognised on scans but never generated
    with pytest.raises(BadInputError, match="不由本系统生成"):
        registry(home).resolve("户口簿", generated=True)
    with pytest.raises(BadInputError, match="随「花名册」一起生成"):
        registry(home).resolve("人数资金统计表", generated=True)


def test_a_broken_home_template_does_not_hide_the_others(home, head_id):
    _add_type(home, WINTER.replace("scope: household", "scope: 一户"))
    types = registry(home)
    assert "winter-aid" in types.broken and types.get("refusal") is not None
    with pytest.raises(TemplateError, match="winter-aid.yaml"):
        types.resolve("winter-aid")
    listed = run_cli("--home", str(home.root), "types")
    assert listed.exit_code == 0 and "不予批准告知书" in listed.output and "模板有误" in listed.stderr
    # a broken override of a built-in type: its error when asked for, the built-in title for scans
    (home.templates_dir / "refusal.yaml").write_text("id: refusal\ntitle: [\n", encoding="utf-8")
    types = registry(home)
    assert types.classify("最低生活保障申请不予批准告知书") == "refusal"
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id, "--set", "reason=x")
    assert result.exit_code == ExitCode.BAD_INPUT and "refusal.yaml" in result.stderr


def test_a_template_may_not_take_a_reserved_id(home):
    _add_type(home, WINTER.replace("id: winter-aid", "id: hukou"), "hukou")
    types = registry(home)
    assert types.get("hukou").origin == "external" and "保留" in types.broken["hukou"].message


def test_classification_prefers_the_title_at_the_top():
    types = registry()
    assert types.classify("特困人员救助供养申请审批表 申请理由 无劳动能力") == "tekun-application"
    assert types.classify("临时救助申请审批表 救助事由") == "temporary-aid"
    assert types.classify("最低生活保障审核确认表 公示情况") == "approval"
    assert types.classify("终止特困人员救助供养告知书") == "suspension"
    assert types.classify("龙井村终止特困人员救助供养公示 公示期") == "termination-publicity"
    assert types.classify("最低生活保障家庭定期复核表") == "review"
    assert types.classify("居民身份证 签发机关") == "id-card"


def test_field_metadata_for_every_generated_type_is_complete():
    for doc_type in registry().generated():
        assert doc_type.title and doc_type.category in ("审批类", "日常管理类")
        for spec in doc_type.fields:
            assert spec.label and spec.kind in ("text", "money", "date", "month", "integer", "choice")
            if spec.kind == "choice":
                assert spec.choices and (spec.default is None or spec.default in spec.choices)


def test_templates_list_shows_code_and_title(home):
    result = run_cli("--home", str(home.root), "templates", "list", "--json")
    rows = {row["id"]: row for row in map(json.loads, result.output.splitlines())}
    assert rows["refusal"]["title"] == "不予批准告知书" and rows["zero-report"]["title"] == "社会救助零报告"


def test_dates_that_contradict_exit_4_and_name_the_reason(home, township):
    applicant = next(h.head.id_number for h in township if h.status == "申请中")
    root = str(home.root)
    assert run_cli("--home", root, "generate", "申请书", "--household", applicant, "--date", "2025-07-10").exit_code == 0
    result = run_cli("--home", root, "generate", "审核确认通知书", "--household", applicant, "--date", "2025-07-05",
                     "--json")
    assert result.exit_code == ExitCode.BAD_INPUT == 4
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert "日期相互矛盾" in error["error"] and "2025-07-05" in error["error"] and "2025-07-10" in error["error"]
    result = run_cli("--home", root, "generate", "confirmation", "--household", applicant, "--date", "2025-07-20",
                     "--set", "publicity_to=2025-07-25")
    assert result.exit_code == 4 and "公示期至 2025-07-25，尚未期满" in result.stderr
    assert home.db.execute("SELECT count(*) FROM documents WHERE household_id=? AND type='confirmation'",
                           (applicant,)).fetchone()[0] == 0
    # nothing contradicts: issued, and the second of the same kind that day warns naming the first
    first = run_cli("--home", root, "generate", "confirmation", "--household", applicant, "--date", "2025-07-20",
                    "--set", "publicity_to=2025-07-18", "--json")
    assert first.exit_code == 0, first.stderr
    first_doc = json.loads(first.output.splitlines()[-1])
    second = run_cli("--home", root, "generate", "confirmation", "--household", applicant, "--date", "2025-07-20",
                     "--set", "publicity_to=2025-07-18", "--set", "amount=420", "--json")
    assert second.exit_code == 0
    warnings = json.loads(second.output.splitlines()[-1])["warnings"]
    assert len(warnings) == 1 and first_doc["doc_id"] in warnings[0] and first_doc["number"] in warnings[0]
    assert dt.date(2025, 7, 20).isoformat() in warnings[0]
