"""A county home (archive.county): a county-wide user (督查, the county's administrator) picks the
township the pages work in. A view choice kept in the session, nothing in the archive changes,
so it is a GET (an inspector may use it). An account limited to one township cannot pick another."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from archive.errors import NotFoundError
from archive.web.routing import SESSION_TOWNSHIP, Ctx, Forbidden, guarded


@guarded("township.pick", "/township")
def pick_township(ctx: Ctx) -> Response:
    wanted = str(ctx.request.query_params.get("name") or "").strip()
    names = [name for name, _ in ctx.townships()]
    if names == [None]:
        raise NotFoundError("本档案库只有一个乡镇，不需要选择")
    if wanted not in names:
        if not ctx.user.county_wide and wanted in ctx.request.app.state.homes.townships():
            raise Forbidden(f"您的账号只能查看{ctx.user.township}")
        raise NotFoundError(f"没有乡镇「{wanted}」")
    ctx.request.session[SESSION_TOWNSHIP] = wanted
    return RedirectResponse("/", status_code=303)


ROUTES = [pick_township]
