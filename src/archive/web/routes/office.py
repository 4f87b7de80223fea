"""The administrator's office pages: the office settings (township, villages and their codes and
order, phones, 低保 standard), saved by the library (archive.office: checked, written to
config.yaml atomically, audited), and the seal and the signers (archive.signing.keys): the list of
approvers with their certificates, a seal image, an approver added with a signature image and a
certificate. A certificate's password is used only to check the file and is never stored; signing
asks for it again."""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from archive.errors import ArchiveError
from archive.office import (
    TEXT_FIELDS,
    SettingsChange,
    office_settings,
    parse_villages,
    settings_problems,
)
from archive.office import update_office_settings as save_settings
from archive.signing.keys import add_signer, has_seal, list_signers, set_seal
from archive.web import views
from archive.web.routing import Ctx, guarded

DONE = {"saved": "已保存办公设置。", "unchanged": "没有改动。", "seal": "已设置印章图片。", "signer": "已登记签章人。"}
MAX_NEW_VILLAGES = 5


def _settings_context(ctx: Ctx, values: dict | None = None, villages: list | None = None,
                      problems: dict | None = None) -> dict:
    current = office_settings(ctx.home)
    if values is None:
        values = {name: getattr(current, name) or "" for name in TEXT_FIELDS}
        values["dibao_standard"] = "" if current.dibao_standard is None else f"{current.dibao_standard:g}"
    return {"fields": TEXT_FIELDS, "values": values, "villages": villages if villages is not None else current.villages,
            "households": current.households, "problems": problems or {}, "new_rows": MAX_NEW_VILLAGES,
            "done": DONE.get(ctx.request.query_params.get("done", ""))}


@guarded("admin.settings", "/admin/settings")
def settings_page(ctx: Ctx) -> Response:
    return views.page(ctx.request, "admin_settings.html", _settings_context(ctx))


@guarded("admin.settings.save", "/admin/settings", methods=("POST",))
def settings_save(ctx: Ctx) -> Response:
    form = ctx.form
    values = {name: str(form.get(name) or "")[:200] for name in TEXT_FIELDS} if form else {}
    values["dibao_standard"] = str(form.get("dibao_standard") or "")[:40] if form else ""
    get = (lambda name: [str(v)[:60] for v in form.getlist(name)]) if form else (lambda name: [])
    villages = parse_villages(get("village_name"), get("village_code"), get("village_order"))
    change = SettingsChange({k: v for k, v in values.items() if k in TEXT_FIELDS}, values["dibao_standard"], villages)
    problems = settings_problems(ctx.home, change)
    if problems:
        context = _settings_context(ctx, values, villages, problems)
        context["message"] = "有需要改正的内容，请看各项旁边的说明；未保存任何内容"
        return views.page(ctx.request, "admin_settings.html", context, 400)
    changed = save_settings(ctx.home, change)
    return RedirectResponse(f"/admin/settings?done={'saved' if changed else 'unchanged'}", status_code=303)


@guarded("admin.signers", "/admin/signers")
def signers_page(ctx: Ctx) -> Response:
    return views.page(ctx.request, "admin_signers.html", {
        "signers": list_signers(ctx.home), "seal": has_seal(ctx.home),
        "done": DONE.get(ctx.request.query_params.get("done", ""))})


def _kept(upload: object, folder: Path, name: str, suffixes: tuple[str, ...]) -> Path | None:
    """An uploaded file written into the private temporary folder (None when none was chosen)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in suffixes:
        raise ArchiveError(f"「{Path(upload.filename).name}」的格式不对", hint=f"请上传 {' 或 '.join(suffixes)} 文件")
    path = folder / f"{name}{suffix}"
    with open(path, "wb") as out:
        while block := upload.file.read(1 << 20):
            out.write(block)
    return path


@guarded("admin.seal", "/admin/seal", methods=("POST",))
def seal_upload(ctx: Ctx) -> Response:
    with tempfile.TemporaryDirectory(prefix="archive-seal-") as folder:
        image = _kept((ctx.form or {}).get("seal"), Path(folder), "印章", (".png",))
        if image is None:
            raise ArchiveError("请选择印章图片（透明背景的红色 PNG）")
        set_seal(ctx.home, image)
    return RedirectResponse("/admin/signers?done=seal", status_code=303)


@guarded("admin.signers.add", "/admin/signers", methods=("POST",))
def signer_add(ctx: Ctx) -> Response:
    form = ctx.form or {}
    name, role = str(form.get("name") or "").strip()[:30], str(form.get("role") or "").strip()[:30]
    password = str(form.get("password") or "")
    with tempfile.TemporaryDirectory(prefix="archive-signer-") as folder:
        signature = _kept(form.get("signature"), Path(folder), "签名", (".png", ".jpg", ".jpeg"))
        cert = _kept(form.get("cert"), Path(folder), "证书", (".p12", ".pfx"))
        if cert is not None and not password:
            raise ArchiveError("请输入证书密码", hint="密码只用来核对证书，不会保存；签章时还要再输入")
        add_signer(ctx.home, name, role, signature, cert, password if cert is not None else None)
    return RedirectResponse("/admin/signers?done=signer", status_code=303)


ROUTES = [settings_page, settings_save, signers_page, seal_upload, signer_add]
