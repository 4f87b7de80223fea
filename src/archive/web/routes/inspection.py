"""The inspector's spot check: the year's sample (a share of the new and exited households, drawn
reproducibly, plus every 近亲属 household) with its pull list of where each file sits, the pull
list as a PDF, and the sampled households ticked for one exported PDF (households.export_chosen)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from archive.errors import UsageError
from archive.filing.sample import draw_sample, write_sample_list
from archive.household_keys import keys_for
from archive.web import views
from archive.web.routing import Ctx, guarded


def _choice(ctx: Ctx) -> tuple[int, float, int | None]:
    source = ctx.form if ctx.form is not None else ctx.request.query_params
    try:
        year = int(source.get("year") or dt.date.today().year)
        rate = float(source.get("rate") or 0.12)
        seed = int(source["seed"]) if source.get("seed") else None
    except ValueError as exc:
        raise UsageError("年度、比例和种子应为数字，如 2025、0.12、7") from exc
    if not 0 < rate <= 1:
        raise UsageError("抽查比例应在 0 到 1 之间，例如 0.12")
    return year, rate, seed


@guarded("sample", "/sample")
def sample_page(ctx: Ctx) -> Response:
    year, rate, seed = _choice(ctx)
    items, summary = draw_sample(ctx.home, year, rate, seed)
    households = list(dict.fromkeys(item.household for item in items))
    return views.page(ctx.request, "sample.html", {
        "year": year, "rate": rate, "seed": summary.get("seed", seed), "items": items, "summary": summary,
        "households": households, "keys": keys_for(ctx.home.db, households)})


@guarded("sample.pdf", "/sample/pdf", methods=("POST",))
def sample_pdf(ctx: Ctx) -> Response:
    """The pull list as a PDF, made by the library (which audits the draw) outside the home."""
    year, rate, seed = _choice(ctx)
    folder = Path(tempfile.mkdtemp(prefix="archive-sample-"))
    out = folder / f"抽查调档清单-{year}年.pdf"
    try:
        write_sample_list(ctx.home, year, rate, seed, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(out, media_type="application/pdf", filename=out.name,
                        background=BackgroundTask(shutil.rmtree, folder, True))


ROUTES = [sample_page, sample_pdf]
