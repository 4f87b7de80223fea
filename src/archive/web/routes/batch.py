"""Batches in the browser: one type of document for many households (chosen by village, 保障类别,
status and decision dates), printed from one merged PDF. The list of households can be seen
before anything is generated; the library does the work (documents/batch.py)."""

from __future__ import annotations

import re

from starlette.responses import FileResponse, Response

from archive.documents.batch import (
    BATCH_FOLDER,
    BatchPlan,
    plan_batch,
    select_households,
)
from archive.documents.fieldcheck import field_problems
from archive.documents.generate import parse_day
from archive.errors import ArchiveError, NotFoundError
from archive.household_keys import keys_for
from archive.household_list import STATUSES
from archive.jobwork import start_batch
from archive.web import views
from archive.web.doctypes import _template, document_type, household_types
from archive.web.routes.generate import FIELD_PREFIX
from archive.web.routes.jobs import started
from archive.web.routing import Ctx, guarded

CATEGORIES = ("低保", "特困", "临时救助", "低保边缘")
FILTERS = ("village", "category", "status", "decided_from", "decided_to", "date")
_PDF_NAME = re.compile(r"[^/\\]+\.pdf")


def _context(ctx: Ctx, type_id: str, values: dict[str, str], filters: dict[str, str]) -> dict:
    return {"types": household_types(ctx.home), "chosen": document_type(ctx.home, type_id) if type_id else None,
            "villages": ctx.home.config.villages, "categories": CATEGORIES, "statuses": STATUSES,
            "values": values, "filters": filters, "problems": {}, "prefix": FIELD_PREFIX, "message": None,
            "listing": None, "keys": {}, "plan": None}


@guarded("batch", "/batch")
def batch_page(ctx: Ctx) -> Response:
    type_id = ctx.request.query_params.get("type", "")
    return views.page(ctx.request, "batch.html", _context(ctx, type_id, {}, {k: "" for k in FILTERS}))


def _read(ctx: Ctx) -> tuple[dict, list, dict[str, str]]:
    form = ctx.form or {}
    type_id = str(form.get("type") or "")
    if not type_id:
        raise ArchiveError("请选择文书类型")
    chosen = document_type(ctx.home, type_id)
    values = {name: str(form.get(FIELD_PREFIX + name) or "").strip() for name in chosen.field_names}
    filters = {k: str(form.get(k) or "").strip() for k in FILTERS}
    context = _context(ctx, type_id, values, filters)
    params = {k: v for k, v in values.items() if v}
    context["problems"] = field_problems(_template(ctx.home, type_id), params)
    dates = {}
    for name in ("decided_from", "decided_to", "date"):
        try:
            dates[name] = parse_day(filters[name]) if filters[name] else None
        except ArchiveError as exc:
            context["problems"][name] = exc.message
    households = []
    if not context["problems"]:
        households = select_households(ctx.home, village=filters["village"] or None,
                                       category=filters["category"] or None, status=filters["status"] or None,
                                       decided_from=dates["decided_from"], decided_to=dates["decided_to"])
    context["day"] = dates.get("date")
    return context, households, params


def _answer(ctx: Ctx, context: dict, status: int = 200) -> Response:
    if context["problems"]:
        context["message"] = "表单中有需要改正的内容，请看各项旁边的说明"
        status = 400
    fragment = ctx.request.headers.get("hx-request") == "true"
    return views.page(ctx.request, "_batch_result.html" if fragment else "batch.html", context, status)


def _planned(ctx: Ctx, context: dict, households: list, params: dict) -> BatchPlan:
    """The library's plan (who is issued, who is skipped and why) put into the page."""
    plan = plan_batch(ctx.home, context["chosen"].id, households, context["day"], params)
    context.update(plan=plan, listing=plan.eligible,
                   keys=keys_for(ctx.home.db, [h.id for h in households]))
    return plan


@guarded("batch.list", "/batch/list", methods=("POST",))
def batch_list(ctx: Ctx) -> Response:
    context, households, params = _read(ctx)
    if not context["problems"]:
        _planned(ctx, context, households, params)
    return _answer(ctx, context)


@guarded("batch.run", "/batch/run", methods=("POST",))
def batch_run(ctx: Ctx) -> Response:
    """Issues only what was confirmed: the form carries the fingerprint of the eligible list the
    user saw; without it, or when the list has changed since, the list is shown to confirm. The
    confirmed list is then made by a background job: the browser goes to the job's page, which
    shows the progress and the PDF."""
    context, households, params = _read(ctx)
    if context["problems"]:
        return _answer(ctx, context)
    plan = _planned(ctx, context, households, params)
    confirmed = str((ctx.form or {}).get("confirm") or "")
    if confirmed != plan.digest:
        if confirmed:
            context["message"] = "名单在确认后有变化，请重新核对后再确认"
        return _answer(ctx, context)
    if not plan.eligible:
        raise ArchiveError("没有可以生成的家庭：名单中的家庭都被跳过了", hint="跳过的原因见名单")
    chosen, eligible = context["chosen"], plan.eligible
    return started(ctx, lambda: start_batch(ctx.home, chosen.id, eligible, context["day"], params, chosen.title))


@guarded("batch.pdf", "/batches/{name}")
def batch_pdf(ctx: Ctx) -> Response:
    name = ctx.request.path_params["name"]
    path = ctx.home.root / BATCH_FOLDER / name
    if not _PDF_NAME.fullmatch(name) or name.startswith(".") or not path.is_file():
        raise NotFoundError("没有这份批量打印的 PDF")
    return FileResponse(path, media_type="application/pdf", filename=name, content_disposition_type="inline")


ROUTES = [batch_page, batch_list, batch_run, batch_pdf]
