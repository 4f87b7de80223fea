"""The values a template sees: the office, the household or village, the date and the fields
given with --set. Public templates (posted notices) get a reduced view with no ID numbers,
illness, disability or bank data: what a template never receives, it cannot print."""

from __future__ import annotations

import datetime as dt
from typing import Any

from archive import idcard
from archive.config import Config
from archive.dates import cn_date, cn_month, next_month, parse_date, parse_month
from archive.documents.missing import setting
from archive.documents.templates import Template, render_string
from archive.errors import TemplateError
from archive.roster.households import HouseholdRecord

CATEGORY_TITLES = {
    "低保": "最低生活保障",
    "特困": "特困人员救助供养",
    "临时救助": "临时救助",
    "低保边缘": "低保边缘家庭",
}


def office_context(config: Config, template: Template, day: dt.date) -> dict[str, Any]:
    return {
        "fonds": config.fonds,
        "province": config.province,
        "city": config.city,
        "county": config.county,
        "township": config.township,
        "office": config.office,
        # empty settings print as an error naming them, never as 「电话：」 with nothing after it
        "complaint_phone": setting(config.complaint_phone, "complaint_phone", "监督举报电话", config.path),
        "office_phone": setting(config.office_phone, "office_phone", "经办机构联系电话", config.path),
        "dibao_standard": setting(config.dibao_standard, "dibao_standard", "当地最低生活保障标准", config.path),
        "publicity_days": config.publicity_days,
        "appeal": dict(config.appeal),
        "legal_basis": config.legal_basis.get(template.id, ""),
        "date": day.isoformat(),
        "date_cn": cn_date(day),
        "year": day.year,
        "title": template.title,
        # set by a correction (--replaces) and by signing (--sign); notices print them
        "replaces_number": "",
        "signature_note": "未电子签章，由经办人手工签字、加盖印章",
    }


def household_context(household: HouseholdRecord, day: dt.date) -> dict[str, Any]:
    members = [member.as_context(day) for member in household.members]
    start = household.start_date
    return {
        "household_id": household.id,
        "head_name": household.head_name,
        "village": household.village,
        "category": household.category,
        "category_title": CATEGORY_TITLES.get(household.category, household.category),
        "covered": household.covered,
        "amount": household.amount,
        "start_date": start or "",
        "start_month_cn": cn_month(parse_date(start)) if start else "",
        "phone": household.phone,
        "address": household.address,
        "kin_filed": household.kin_filed,
        "members": members,
        "adults": [m for m in members if m["is_adult"]],
        "member_names": "、".join(m["name"] for m in members),
        "family_size": len(members),
    }


def public_entries(households: list[HouseholdRecord], with_masked_id: bool) -> list[dict[str, Any]]:
    """What a posted list may show: name, village, family size, amount, category (and a masked ID
    if asked)."""
    entries = []
    for household in households:
        entry: dict[str, Any] = {
            "head_name": household.head_name,
            "village": household.village,
            "covered": household.covered,
            "family_size": len(household.members),
            "amount": household.amount,
            "category": household.category,
        }
        if with_masked_id:
            entry["masked_id"] = idcard.mask(household.id)
        entries.append(entry)
    return entries


def field_values(template: Template, params: dict[str, str], base: dict[str, Any]) -> dict[str, Any]:
    """Typed values of the template's fields: --set values over defaults. Defaults may refer to
    other values (e.g. a start month of `{{ next_month }}`)."""
    values: dict[str, Any] = {}
    for name, spec in template.fields.items():
        raw = params.get(name)
        if raw is None or str(raw).strip() == "":
            if spec.default is None:
                values[name] = ""  # optional and not given: templates test it with {% if %}
                continue
            raw = render_string(str(spec.default), {**base, **values})
        values[name] = _typed(template, name, spec.kind, str(raw).strip(), spec.label)
        _check_value(template, spec, values[name], {**base, **values})
    return values


def typed_value(kind: str, raw: str) -> Any:
    """A field's text as its kind's value; ValueError (message in Chinese where ours) if invalid."""
    if kind == "money":
        value = float(raw.replace(",", "").replace("元", ""))
        if value < 0:
            raise ValueError("金额不能为负")
        return round(value, 2)
    if kind == "integer":
        return int(raw)
    if kind == "date":
        return parse_date(raw).isoformat()
    if kind == "month":
        return (parse_month(raw) if len(raw) <= 7 else parse_date(raw).replace(day=1)).isoformat()
    return raw


def _check_value(template: Template, spec: Any, value: Any, scope: dict[str, Any]) -> None:
    """The field's own rules: one of its choices, at most max_length characters, within min/max
    (a number or a Jinja expression over the office settings, e.g. six months of the 低保 standard)."""
    where = f"{template.where(('fields', spec.name))}：字段「{spec.name}」（{spec.label}）"
    if spec.choices and str(value) not in spec.choices:
        raise TemplateError(f"{where}的值「{value}」不在可选范围内", hint=f"可选：{'、'.join(spec.choices)}")
    if spec.max_length and len(str(value)) > spec.max_length:
        raise TemplateError(f"{where}过长：{len(str(value))} 个字，最多 {spec.max_length} 个")
    if not isinstance(value, (int, float)):
        return
    for key in ("min", "max"):
        bound = _bound(template, spec, key, scope)
        if bound is None:
            continue
        if (key == "min" and value < bound) or (key == "max" and value > bound):
            reason = render_string(spec.max_message, {**scope, "limit": bound, "value": value}) \
                if key == "max" and spec.max_message else ""
            word = "低于下限" if key == "min" else "超过上限"
            raise TemplateError(f"{where}的值 {value:g} {word} {bound:g}" + (f"：{reason}" if reason else ""))


def _bound(template: Template, spec: Any, key: str, scope: dict[str, Any]) -> float | None:
    raw = getattr(spec, key)
    if raw is None:
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    try:
        text = render_string(raw, scope).strip()
    except TemplateError:
        raise
    except Exception:  # jinja's undefined or arithmetic on a missing setting
        text = ""
    try:
        return float(text)
    except ValueError:
        raise TemplateError(
            f"{template.where(('fields', spec.name, key))}：字段「{spec.name}」（{spec.label}）的{'上限' if key == 'max' else '下限'}"
            f"「{raw}」无法计算，所需的设置没有配置",
            hint="请在 config.yaml 中设置相应的值（如当地低保标准 dibao_standard），再生成") from None


def _typed(template: Template, name: str, kind: str, raw: str, label: str) -> Any:
    try:
        return typed_value(kind, raw)
    except ValueError as exc:
        raise TemplateError(f"{template.where(('fields', name))}：字段「{name}」（{label}）的值「{raw}」无效：{exc}") from None


def derived_dates(day: dt.date) -> dict[str, Any]:
    following = next_month(day)
    return {"next_month": following.strftime("%Y-%m"), "next_month_cn": cn_month(following)}
