"""Case rules as data: wording per 保障类别, review intervals, procedure deadlines and retention
terms. Everything here is a default that config.yaml (`casework:`) can override; code reads it
through `settings(config)` and never spells a title or a legal basis itself."""

from __future__ import annotations

import copy
from typing import Any

from archive.config import Config

# Titles, legal basis and the phrases that differ by category (DOMAIN.md: legal basis differs by
# category; 低保边缘 rests on provincial rules, so its basis is meant to be set locally).
# A `legal_basis` of None falls back to config.legal_basis[document type] (the 低保 defaults).
DEFAULT_CATEGORIES: dict[str, dict[str, Any]] = {
    "低保": {
        "legal_basis": None,
        "titles": {
            "refusal": "最低生活保障申请不予批准告知书",
            "suspension": "最低生活保障金停发告知书",
            "adjustment": "最低生活保障金调整告知书",
            "confirmation": "最低生活保障审核确认通知书",
        },
        "stop_phrase": "停发你家的最低生活保障金",
    },
    "特困": {
        "legal_basis": "《社会救助暂行办法》《特困人员认定办法》（民发〔2021〕43号）",
        "titles": {
            "refusal": "特困人员救助供养申请不予批准告知书",
            "suspension": "终止特困人员救助供养告知书",
            "adjustment": "特困人员救助供养金调整告知书",
            "confirmation": "特困人员救助供养审核确认通知书",
        },
        "stop_phrase": "终止对你（户）的特困人员救助供养",
    },
    "临时救助": {
        "legal_basis": "《社会救助暂行办法》《国务院关于全面建立临时救助制度的通知》（国发〔2014〕47号）",
        "titles": {
            "refusal": "临时救助申请不予批准告知书",
            "suspension": "停止临时救助告知书",
            "adjustment": "临时救助金额调整告知书",
            "confirmation": "临时救助审批通知书",
        },
        "stop_phrase": "停止对你家的临时救助",
    },
    "低保边缘": {
        # the province's own rules: set casework.categories.低保边缘.legal_basis in config.yaml
        "legal_basis": "《社会救助暂行办法》和本省低保边缘家庭认定办法",
        "titles": {
            "refusal": "低保边缘家庭认定申请不予批准告知书",
            "suspension": "终止低保边缘家庭认定告知书",
            "adjustment": "低保边缘家庭救助调整告知书",
            "confirmation": "低保边缘家庭认定通知书",
        },
        "stop_phrase": "终止你家的低保边缘家庭认定，不再享受相应救助",
    },
}

DEFAULT_CASEWORK: dict[str, Any] = {
    # 复核: yearly for stable households, every six months for households with members able to
    # work (working age, 低保 only by default) or irregular income (flag on a review event)
    "review": {
        "stable_months": 12,
        "variable_months": 6,
        "categories": ["低保", "低保边缘", "特困"],
        "working_age": [18, 60],
        "working_age_categories": ["低保", "低保边缘"],
    },
    # working days, counted with the configured holidays
    "deadlines": {
        "investigation": 3,       # start of the investigation after acceptance
        "decision": 30,           # whole procedure (45 in special cases)
        "refusal_notice": 3,      # written refusal after the decision
        "signed_copy": 10,        # signed counterfoil or notice scanned back
    },
    "retention": {
        "审批类": {"years_after_stop": 3},
        "日常管理类": {"years": 5},
        # a filed item is never proposed before the 保管期限 stamped on it (D10, D30; Y never)
        "respect_filed_period": True,
    },
    "categories": {},
}

# documents whose copies go to the household and come back signed: templates with `notice: true`
# (documents/types.py); the built-in ones are these
NOTICE_TYPES = ("refusal", "suspension", "adjustment", "confirmation")


def settings(config: Config) -> dict[str, Any]:
    """The casework settings: defaults with config.yaml's `casework:` laid over, key by key."""
    merged = copy.deepcopy(DEFAULT_CASEWORK)
    given = config.casework or {}
    for key in ("review", "deadlines"):
        merged[key].update(given.get(key, {}))
    retention = given.get("retention", {})
    for key, value in retention.items():
        if isinstance(value, dict):
            merged["retention"].setdefault(key, {}).update(value)
        else:
            merged["retention"][key] = value
    categories = copy.deepcopy(DEFAULT_CATEGORIES)
    for name, wording in given.get("categories", {}).items():
        entry = categories.setdefault(name, {"legal_basis": None, "titles": {}, "stop_phrase": ""})
        entry.update({k: v for k, v in wording.items() if k != "titles"})
        entry["titles"] = {**entry.get("titles", {}), **wording.get("titles", {})}
    merged["categories"] = categories
    return merged


def category_wording(config: Config, template_id: str, category: str) -> dict[str, Any]:
    """Template values that depend on the household's 保障类别: `legal_basis`, `notice_title`
    (the document's printed title) and `stop_phrase`."""
    entry = settings(config)["categories"].get(category, {})
    basis = entry.get("legal_basis")
    if isinstance(basis, dict):
        basis = basis.get(template_id) or basis.get("default")
    return {
        "legal_basis": basis or config.legal_basis.get(template_id, ""),
        "notice_title": entry.get("titles", {}).get(template_id, ""),
        "stop_phrase": entry.get("stop_phrase", ""),
    }
