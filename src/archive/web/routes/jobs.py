"""Background jobs in the browser: the list, a job's page (its progress polled by htmx every
second, then its result), its JSON for static/upload.js, and the starts that are not part of
another page: 四性检测 (with its report to download) and reindex. The work and its rules are in
archive.jobs and archive.jobwork."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from archive.errors import ArchiveError, NotFoundError
from archive.filing.verify import report_files
from archive.household_keys import keys_for
from archive.jobs import Job, JobBusyError, get_job, list_jobs, running_job
from archive.jobwork import start_reindex, start_verify
from archive.web import views
from archive.web.routing import Ctx, guarded

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def job_url(job: Job) -> str:
    return f"/jobs/{job.id}"


def started(ctx: Ctx, start, note: str = "") -> Response:
    """Start a job and send the browser to its page; a second start of a running kind is refused
    with a page naming who started the running one (409), or JSON for a script. `note` is added
    to a refusal (what became of the user's input)."""
    try:
        job = start()
    except JobBusyError as exc:
        return refused(ctx.request, exc, note)
    if ctx.request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"job": job.id, "url": job_url(job)}, status_code=202)
    if ctx.request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": job_url(job)})
    return RedirectResponse(job_url(job), status_code=303)


def refused(request: Request, exc: JobBusyError, note: str = "") -> Response:
    message = exc.message + (f"；{note}" if note else "")
    if request.headers.get("accept", "").startswith("application/json") or views.is_api(request):
        return JSONResponse({"error": message, "job": exc.running.id, "url": job_url(exc.running)},
                            status_code=409)
    name = "_job_refused.html" if request.headers.get("hx-request") == "true" else "job_refused.html"
    return views.page(request, name, {"message": message, "running": exc.running}, 409)


def _job(ctx: Ctx) -> Job:
    return get_job(ctx.home, ctx.request.path_params["job_id"])


def _context(ctx: Ctx, job: Job) -> dict:
    listed = job.result.get("items") if job.kind == "batch" else []
    households = [item.get("household") for item in listed or [] if isinstance(item, dict)]
    return {"job": job, "keys": keys_for(ctx.home.db, [h for h in households if h])}


@guarded("jobs", "/jobs")
def jobs_page(ctx: Ctx) -> Response:
    return views.page(ctx.request, "jobs.html", {"jobs": list_jobs(ctx.home)})


@guarded("job", "/jobs/{job_id:int}")
def job_page(ctx: Ctx) -> Response:
    return views.page(ctx.request, "job.html", _context(ctx, _job(ctx)))


@guarded("job.progress", "/jobs/{job_id:int}/progress")
def job_progress(ctx: Ctx) -> Response:
    return views.page(ctx.request, "_job_progress.html", _context(ctx, _job(ctx)))


@guarded("job.json", "/jobs/{job_id:int}.json")
def job_json(ctx: Ctx) -> Response:
    job = _job(ctx)
    data = job.to_json()
    data.update(kind_title=job.kind_title, state_title=job.state_title)
    return JSONResponse(data)


@guarded("job.report", "/jobs/{job_id:int}/report.{fmt}")
def job_report(ctx: Ctx) -> Response:
    job = _job(ctx)
    fmt = ctx.request.path_params["fmt"]
    if job.kind != "verify" or job.state != "done" or fmt not in ("pdf", "xlsx"):
        raise NotFoundError("这项任务没有检测报告")
    date = job.started_at[:10]
    pdf, xlsx = report_files(job.result, f"{ctx.home.config.township}四性检测报告 {views.cn_date(date)}")
    name = f"四性检测报告-{date}.{fmt}"
    return Response(pdf if fmt == "pdf" else xlsx, media_type="application/pdf" if fmt == "pdf" else XLSX,
                    headers={"content-disposition": f"attachment; filename*=UTF-8''{_quote(name)}"})


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@guarded("verify", "/verify")
def verify_page(ctx: Ctx) -> Response:
    latest = list_jobs(ctx.home, limit=1, kind="verify")
    return views.page(ctx.request, "verify.html", {"latest": latest[0] if latest else None,
                                                   "running": running_job(ctx.home, "verify")})


@guarded("verify.start", "/verify", methods=("POST",))
def verify_start(ctx: Ctx) -> Response:
    return started(ctx, lambda: start_verify(ctx.home))


@guarded("admin.reindex", "/admin/reindex", methods=("POST",))
def reindex_start(ctx: Ctx) -> Response:
    if not ctx.form or ctx.form.get("confirm") != "1":
        raise ArchiveError("请确认要重建全文索引")
    return started(ctx, lambda: start_reindex(ctx.home))


ROUTES = [jobs_page, job_json, job_progress, job_report, job_page, verify_page, verify_start, reindex_start]
