"""Command line: thin over the library. Messages for people are Chinese; --json is for scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive import __version__, clicn
from archive.errors import ArchiveError, BadInputError, ExitCode, NotFoundError, UsageError
from archive.scans.ocr.registry import DEFAULT as OCR_DEFAULT
from archive.scans.ocr.registry import names as ocr_engine_names

clicn.install()  # before any command is declared: click.Path names its type when constructed


def _emit_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def json_option(func):
    """The shared --json flag: one JSON object per line on stdout; errors as JSON on stderr."""
    return click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")(func)


def _remember_township(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.find_root().ensure_object(dict)["township"] = value


def county_level(func):
    """Mark a command that works on a county home itself (it gets no automatic --township)."""
    func._county_level = True
    return func


class _Command(click.Command):
    """Every command that has no --township of its own accepts one (after the command's name, as
    well as before it): in a county home it picks the township the command works on."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("options_metavar", clicn.OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)
        has_own = any("--township" in getattr(param, "opts", ()) for param in self.params)
        if not has_own and not getattr(self.callback, "_county_level", False):
            self.params.append(click.Option(["--township"], metavar="乡镇", expose_value=False,
                                            callback=_remember_township,
                                            help="县级档案库：在哪个乡镇操作（也可用环境变量 ARCHIVE_TOWNSHIP）"))


class _Group(click.Group):
    """The one place where failures become exit codes (errors.ExitCode): a Chinese message on
    stderr, or under --json one JSON object {"error", "code", "kind"} on stderr; never a traceback
    for an expected error. Commands and subgroups declared on it use the same classes."""

    command_class = _Command
    group_class = type

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("options_metavar", clicn.OPTIONS_METAVAR)
        kwargs.setdefault("subcommand_metavar", clicn.SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        from archive.files import private_umask

        with private_umask():  # the home holds personal data: whatever a command creates is private
            return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        as_json = "--json" in (sys.argv[1:] if args is None else list(args))
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else ExitCode.OK
        except ArchiveError as exc:
            code = _report_error(exc.to_json(), str(exc), as_json)
        except click.UsageError as exc:
            if as_json:
                code = _report_error({"error": exc.format_message(), "code": int(ExitCode.USAGE), "kind": "usage"}, "", True)
            else:
                exc.show()
                code = ExitCode.USAGE
        except click.ClickException as exc:  # e.g. a file click could not open
            code = _report_error({"error": exc.format_message(), "code": int(ExitCode.BAD_INPUT), "kind": "bad_input"},
                                 exc.format_message(), as_json)
        except (click.Abort, KeyboardInterrupt, EOFError):
            code = _report_error({"error": "已中止", "code": 130, "kind": "aborted"}, "已中止", as_json)
        sys.exit(int(code))


def _report_error(payload: dict, text: str, as_json: bool) -> int:
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, default=str), err=True)
    else:
        click.echo(f"错误：{text}", err=True)
    return int(payload["code"])


@click.group(cls=_Group, name="archive")
@click.option("--home", "home_dir", type=click.Path(file_okay=False), envvar="ARCHIVE_HOME",
              help="档案库目录（也可用环境变量 ARCHIVE_HOME）")
@click.option("--township", "township", metavar="乡镇", envvar="ARCHIVE_TOWNSHIP",
              help="县级档案库（多个乡镇）：在哪个乡镇操作（也可用环境变量 ARCHIVE_TOWNSHIP）")
@click.version_option(__version__, prog_name="archive")
@click.pass_context
def cli(ctx: click.Context, home_dir: str | None, township: str | None) -> None:
    """乡镇社会救助文书生成、扫描归档与检索。"""
    ctx.obj = {"home_dir": home_dir, "township": township}


def _interactive() -> bool:
    """Whether a person is at the terminal (then `init` asks what it was not told)."""
    return sys.stdin.isatty()



class EngineChoice(click.Choice):
    """The OCR engines users can choose, as offered in --help and error messages; an engine kept
    for tests (the in-tree fake) is accepted by name but never offered."""

    def __init__(self) -> None:
        super().__init__(ocr_engine_names())

    def convert(self, value, param, ctx):
        if value in ocr_engine_names(include_hidden=True):
            return value
        return super().convert(value, param, ctx)

def _home(ctx: click.Context):
    from archive.home import resolve_home

    return resolve_home(ctx.obj["home_dir"], ctx.find_root().obj.get("township"))


def _county_or_home(ctx: click.Context):
    """A county home as a whole when no township is named (backup, the web server), else the home."""
    from archive.county import CountyHome, is_county_root
    from archive.home import resolve_root

    root = resolve_root(ctx.obj["home_dir"])
    if is_county_root(root) and not ctx.find_root().obj.get("township"):
        return CountyHome(root)
    return _home(ctx)


def _accounts(ctx: click.Context):
    """Where the web accounts live: a county home's own catalog, else the township home."""
    from archive.county import CountyHome, is_county_root
    from archive.home import resolve_root

    root = resolve_root(ctx.obj["home_dir"])
    return CountyHome(root) if is_county_root(root) else _home(ctx)


def _update_index(home) -> None:
    """Bring the full-text index up to date after a change. The catalog is the source of truth,
    so a failure here is a warning: `archive reindex` catches up later."""
    from archive.index.store import sync

    try:
        sync(home, on_wait=lambda message: click.echo(message, err=True))
    except ArchiveError as exc:
        click.echo(f"警告：全文索引未更新：{exc}", err=True)


# --- init and villages -------------------------------------------------------------------

@cli.command()
@click.option("--township", required=True, help="乡镇(街道)名称，如 青岩镇")
@click.option("--county", required=True, help="县(区)名称，如 花溪区")
@click.option("--fonds", required=True, help="全宗号，如 Z109")
@click.option("--villages", default="", help="村(社区)名单，用逗号分隔")
@click.option("--province", default="", help="省（自治区），印在文书上；可不填")
@click.option("--city", default="", help="市（州），印在文书上；可不填")
@click.option("--complaint-phone", help="监督举报电话（印在公示单上）；不给时在终端中询问")
@click.option("--office-phone", help="乡镇(街道)民政办公室电话（印在告知书上）；不给时在终端中询问")
@click.option("--dibao-standard", help="当地最低生活保障标准（元/人·月，临时救助审批额度按它计算）；不给时在终端中询问")
@click.option("--operator", help="整理人（操作员）姓名，写入 config.yaml，印在备考表上并记入操作日志；"
                                 "不给时在终端中询问，否则用环境变量 ARCHIVE_OPERATOR")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def init(ctx, township, county, fonds, villages, province, city, complaint_phone, office_phone, dibao_standard,
         operator, as_json) -> None:
    """创建档案库（配置文件、目录数据库、收件箱）。"""
    import os

    from archive.config import Config
    from archive.home import init_home, resolve_root
    from archive.identity import check_operator_name

    if operator is None and _interactive():
        operator = click.prompt("整理人（操作员）姓名（印在备考表上，记入操作日志）",
                                default=os.environ.get("ARCHIVE_OPERATOR") or None)
    if operator is None:
        operator = os.environ.get("ARCHIVE_OPERATOR")
    operator = check_operator_name(operator) if operator is not None else ""
    # the office settings documents print: asked at the terminal, never printed empty (generation
    # stops naming a missing one)
    asked = {"complaint_phone": ("监督举报电话（印在公示单上，可留空以后在 config.yaml 中设置）", complaint_phone),
             "office_phone": ("民政办公室电话（印在告知书上，可留空）", office_phone),
             "dibao_standard": ("当地最低生活保障标准，元/人·月（可留空）", dibao_standard)}
    settings = {key: (value if value is not None else
                      (click.prompt(question, default="", show_default=False) if _interactive() else "")).strip()
                for key, (question, value) in asked.items()}
    standard = _dibao_standard(settings["dibao_standard"])
    names = [v.strip() for v in villages.replace("，", ",").replace("、", ",").split(",") if v.strip()]
    config = Config(fonds=fonds, county=county, township=township, villages=names, province=province,
                    city=city, complaint_phone=settings["complaint_phone"], office_phone=settings["office_phone"],
                    dibao_standard=standard, operator=operator)
    unset = [INIT_SETTING_NAMES[key] for key, value in settings.items() if not value]
    from archive.yamldoc import validate

    validate(config.to_yaml_dict(), "config", Path("--命令行参数--"), {})
    home = init_home(resolve_root(ctx.obj["home_dir"]), config)
    if as_json:
        _emit_json({"home": str(home.root), "township": township, "villages": names, "operator": operator or None,
                    "unset": [name for name, _ in unset]})
    else:
        click.echo(f"已创建档案库：{home.root}（{county}{township}，全宗号 {fonds}，{len(names)} 个村(社区)）")
        if not operator:
            click.echo("注意：未指定整理人，备考表的「整理人」一栏将留空；可在 config.yaml 中设置 operator", err=True)
        if unset:
            click.echo(f"注意：未设置{'、'.join(name for name, _ in unset)}；需要它们的文书（如公示单）生成时会停止并提示。"
                       f"请在 config.yaml 中设置 {'、'.join(key for _, key in unset)}", err=True)


INIT_SETTING_NAMES = {"complaint_phone": ("监督举报电话", "complaint_phone"),
                      "office_phone": ("民政办公室电话", "office_phone"),
                      "dibao_standard": ("当地低保标准", "dibao_standard")}


def _dibao_standard(value: str) -> float | None:
    if not value:
        return None
    try:
        standard = float(value)
    except ValueError:
        standard = 0.0
    if not 0 < standard < 100000:
        raise UsageError(f"当地低保标准应为正数（元/人·月），而不是「{value}」", hint="例如 --dibao-standard 850")
    return standard


@cli.group()
def village() -> None:
    """村(社区)名单。"""


@village.command("add")
@click.argument("names", nargs=-1, required=True)
@json_option
@click.pass_context
def village_add(ctx, names, as_json) -> None:
    """添加村(社区)。"""
    home = _home(ctx)
    added = home.add_villages(list(names))
    if as_json:
        _emit_json({"added": added, "villages": list(home.config.villages)})
        return
    click.echo(f"已添加：{'、'.join(added) or '（均已存在）'}；现有 {len(home.config.villages)} 个村(社区)")


@village.command("list")
@json_option
@click.pass_context
def village_list(ctx, as_json) -> None:
    """列出村(社区)。"""
    for name in _home(ctx).config.villages:
        if as_json:
            _emit_json({"village": name})
        else:
            click.echo(name)


# --- roster ------------------------------------------------------------------------------

@cli.group()
def roster() -> None:
    """花名册导入，及重新导入时与档案中的决定不一致之处的确认。"""


@roster.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def roster_import(ctx, file, as_json) -> None:
    """导入花名册（XLSX 或 CSV，每行一名成员）。全部成功才导入；重复导入不产生变化。"""
    from archive.roster.importer import import_roster

    home = _home(ctx)
    result = import_roster(home.db, Path(file), home.config, home.operator)  # RosterError: JSON with its problems on stderr
    _update_index(home)
    if as_json:
        _emit_json({"ok": True, **result.to_json()})
    else:
        click.echo(result.summary_zh())


@roster.command("diff")
@click.option("--all", "every", is_flag=True, help="连同已接受、已拒绝的差异一起列出")
@click.option("--household", help="只看这一户（户主身份证号）")
@json_option
@click.pass_context
def roster_diff(ctx, every, household, as_json) -> None:
    """重新导入的花名册与档案中的决定不一致之处（待确认的差异）。"""
    from archive.roster.differences import STATE_NAMES, list_differences

    found = list_differences(_home(ctx).db, every=every, household=household)
    if as_json:
        for difference in found:
            _emit_json(difference.to_json())
        return
    if not found:
        click.echo("没有待确认的花名册差异。" if not every else "没有花名册差异记录。")
        return
    for difference in found:
        state = "" if difference.state == "pending" else f"【{STATE_NAMES[difference.state]}】"
        click.echo(f"{state}{difference.describe()}")
    if any(d.state == "pending" for d in found):
        click.echo("接受：archive roster accept 编号…（或 --all）；拒绝：archive roster reject 编号… --reason 原因")


def _resolve_differences(ctx, action: str, ids, every, reason, as_json, month=None) -> None:
    from archive.roster import differences

    home = _home(ctx)
    extra = {"month": _month(month)} if month else {}
    done = getattr(differences, action)(home, list(ids), every=every, reason=reason, **extra)
    if action == "accept":
        _update_index(home)
    for resolution in done:
        if as_json:
            _emit_json(resolution.to_json())
        else:
            click.echo(f"#{resolution.difference.id} {resolution.difference.head_name}"
                       f" {differences.FIELD_NAMES[resolution.difference.field]}：{resolution.message}")
    if not done and not as_json:
        click.echo("没有待确认的花名册差异。")
    if any(not r.done for r in done):
        ctx.exit(ExitCode.CONFLICT)


@roster.command("accept")
@click.argument("ids", nargs=-1, type=int, metavar="差异编号…")
@click.option("--all", "every", is_flag=True, help="接受全部待确认的差异")
@click.option("--reason", default="", help="说明（记入操作日志）")
@click.option("--month", help="金额、人数、状态自哪个月起按花名册（YYYY-MM），默认本月")
@json_option
@click.pass_context
def roster_accept(ctx, ids, every, reason, month, as_json) -> None:
    """接受花名册差异：自本月（或 --month）起按花名册的数值（村的变更连同文书一并迁移），记入一户的经历和操作日志。"""
    _resolve_differences(ctx, "accept", ids, every, reason, as_json, month)


@roster.command("reject")
@click.argument("ids", nargs=-1, type=int, metavar="差异编号…")
@click.option("--all", "every", is_flag=True, help="拒绝全部待确认的差异")
@click.option("--reason", default="", help="原因（记入操作日志）")
@json_option
@click.pass_context
def roster_reject(ctx, ids, every, reason, as_json) -> None:
    """拒绝花名册差异：保留档案中的数值，记入操作日志。"""
    _resolve_differences(ctx, "reject", ids, every, reason, as_json)


# --- generate ----------------------------------------------------------------------------

@cli.command()
@click.argument("doc_type", metavar="TYPE")
@click.option("--household", "households", multiple=True, metavar="身份证号",
              help="户主身份证号；给出多个（可重复）时批量生成")
@click.option("--village", help="村(社区)（村级文书，如公示单；一户的文书按村批量生成）")
@click.option("--status", type=click.Choice(["active", "applicant", "stopped"]),
              help="批量生成：只生成该状态的家庭（在保、申请中、停保）")
@click.option("--from", "date_from", help="起始日期（公示单等按期间的文书；批量生成时为审核确认日期范围）")
@click.option("--to", "date_to", help="截止日期（公示单等按期间的文书；批量生成时为审核确认日期范围）")
@click.option("--category", type=click.Choice(["低保", "特困", "临时救助", "低保边缘"]),
              help="只列该类别（村级、月度文书；批量生成时只生成该类别）")
@click.option("--month", help="月份 YYYY-MM（花名册、统计表、零报告等月度文书）")
@click.option("--date", "date_", help="成文日期 YYYY-MM-DD，默认今天")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="模板字段，如 --set reason=家庭收入超标")
@click.option("--sign", is_flag=True, help="加盖电子印章和审批人签名（有证书时同时加数字签名）")
@click.option("--approver", help="签章的审批人（archive signer add 登记的姓名）")
@click.option("--replaces", help="本文书更正并取代的原文书编号")
@click.option("--out", type=click.Path(dir_okay=False), metavar="文件",
              help="批量生成：合并 PDF 的保存位置（默认档案库 batches/ 下；存根另存为 …-存根.pdf）")
@click.option("--json", "as_json", is_flag=True, help="每份文书输出一行 JSON（批量生成时最后一行为合并 PDF）")
@click.pass_context
def generate(ctx, doc_type, households, village, status, date_from, date_to, category, month, date_, sets, sign,
             approver, replaces, out, as_json) -> None:
    """生成文书（PDF 打印、DOCX 编辑）。

    TYPE 为文书类型的代码或中文名称（如 refusal 或 不予批准告知书），archive types 列出全部类型：
    一户的文书需 --household；村级文书需 --village（公示单另需 --from --to）；
    月度文书需 --month（roster 生成花名册和人数资金统计表 XLSX）。

    一户的文书批量生成：给 --village、--status、--category（可加 --from --to 审核确认日期范围）
    或多个 --household，每户一份，合并为一个 PDF 打印，存根另成一个 PDF，例如：
    archive generate confirmation --village 龙井村 --status active --date 2025-07-25
    """
    from archive.dates import parse_month
    from archive.documents import types
    from archive.documents.generate import Generator, parse_day, parse_set_options

    params = parse_set_options(sets)
    day = parse_day(date_)
    if sign and not approver:
        raise UsageError("--sign 需要同时用 --approver 指定审批人")
    if approver and not sign:
        raise UsageError("指定了 --approver，但没有 --sign；要签章请加 --sign")
    home = _home(ctx)
    kind = types.registry(home).resolve(doc_type, generated=True)
    batch = kind.scope == "household" and (len(households) > 1 or (not households and bool(village or status or category)))
    if batch:
        if sign or replaces:
            raise UsageError("批量生成不能签章或更正（--sign/--replaces），请逐户生成")
        _run_batch(ctx, home, kind.id, village=village, category=category, status=status, decided_from=date_from,
                   decided_to=date_to, households=households, day=day, params=params, out=out, as_json=as_json)
        return
    if status or out:
        raise UsageError("--status 和 --out 只用于一户的文书的批量生成（--village 或多个 --household）")
    household = households[0] if households else None
    generator = Generator(home)
    try:
        first = parse_month(month) if month else None
    except ValueError as exc:
        raise ArchiveError(str(exc)) from None
    results = generator.generate(doc_type, household=household, village=village, start=parse_day(date_from),
                                 end=parse_day(date_to), month=first, day=day, params=params, category=category,
                                 approver=approver, replaces=replaces)
    _update_index(home)
    for result in results:
        for warning in getattr(result, "warnings", []):
            click.echo(f"警告：{warning}", err=True)
        if as_json:
            signed = home.db.execute("SELECT signed_by, signature_kind FROM documents WHERE doc_id=?",
                                     (result.doc_id,)).fetchone()
            _emit_json({"doc_id": result.doc_id, "type": result.type, "number": result.number,
                        "household": result.household, "pdf": result.pdf, "docx": result.docx,
                        "xlsx": result.xlsx, "pages": result.pages, "reprinted": result.reprinted,
                        "signed_by": signed["signed_by"], "signature": signed["signature_kind"],
                        "warnings": getattr(result, "warnings", [])})
        else:
            verb = "已重印" if result.reprinted else "已生成"
            number = f" {result.number}" if result.number else ""
            files = "、".join(p for p in (result.pdf, result.docx, result.xlsx) if p)
            click.echo(f"{verb}「{result.title}」{number}（{result.doc_id}）：{files}")


@cli.command()
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def reprint(ctx, doc_id, as_json) -> None:
    """按原文号重印一份文书。"""
    from archive.documents.generate import Generator

    result = Generator(_home(ctx)).reprint(doc_id)
    if as_json:
        _emit_json(result.to_json())
    else:
        click.echo(f"已重印「{result.title}」{result.number or ''}：{result.pdf}")


@cli.command()
@click.argument("doc_id")
@click.option("--reason", required=True, help="作废原因")
@json_option
@click.pass_context
def void(ctx, doc_id, reason, as_json) -> None:
    """作废一份文书（记录在案，文号不再使用）。"""
    from archive.documents.generate import Generator

    home = _home(ctx)
    result = Generator(home).void(doc_id, reason)
    _update_index(home)
    if as_json:
        _emit_json({**result.to_json(), "status": "void", "reason": reason})
        return
    click.echo(f"已作废「{result.title}」{result.number or ''}（{doc_id}），原因：{reason}")


# --- scans ---------------------------------------------------------------------------------

_MODEL_DIR_OPTION = click.option(
    "--model-dir", envvar="ARCHIVE_OCR_MODEL_DIR", type=click.Path(file_okay=False),
    help="本地 OCR 模型目录（paddleocr 需要；也可用环境变量 ARCHIVE_OCR_MODEL_DIR）；默认用档案库 config.yaml 的 ocr_model_dir")


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--engine", type=EngineChoice(), default=OCR_DEFAULT, show_default=True, help="OCR 引擎")
@_MODEL_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="逐页输出文字行、位置和置信度")
@click.pass_context
def ocr(ctx, path, engine, model_dir, as_json) -> None:
    """识别一个文件（PDF、PNG、JPEG、TIFF）中每页的文字，按阅读顺序输出。不需要档案库。"""
    from archive.scans.pipeline import PageReader

    if not model_dir and ctx.obj["home_dir"]:
        from archive.home import resolve_home

        model_dir = resolve_home(ctx.obj["home_dir"], ctx.obj.get("township")).config.ocr_model_dir or None
    result = PageReader(engine, model_dir).process(Path(path))
    if result.bad_input:
        raise ArchiveError(f"无法识别 {path}：{result.bad_input}")
    if as_json:
        _emit_json({"source": path, "pages": [dict(page.to_json(), number=i) for i, page in enumerate(result.pages, 1)],
                    "qr": [{"doc_id": m.doc_id, "page": m.page} for m in result.marks]})
        return
    for number, page in enumerate(result.pages, start=1):
        if len(result.pages) > 1:
            click.echo(f"—— 第{number}页 ——")
        click.echo(page.text)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--workers", default=1, show_default=True, help="并行处理的进程数")
@click.option("--engine", type=EngineChoice(), default=OCR_DEFAULT, show_default=True, help="OCR 引擎")
@_MODEL_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="每个文件输出一行 JSON")
@click.pass_context
def ingest(ctx, paths, workers, engine, model_dir, as_json) -> None:
    """导入扫描件：识别、匹配家庭、归档。默认处理档案库的 scans/ 收件箱。"""
    from archive.scans.ingest import STATUS_ZH, Ingester, summary_zh

    home = _home(ctx)
    targets = [Path(p) for p in paths] or [home.inbox_dir]
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        raise NotFoundError(f"找不到：{'、'.join(missing)}")
    ingester = Ingester(home, engine, workers, progress=lambda m: click.echo(m, err=True), model_dir=model_dir)
    records = ingester.run(targets)
    _update_index(home)
    if as_json:
        for record in ingester.repairs + records:
            _emit_json(record.to_json())
    else:
        for record in ingester.repairs:
            click.echo(f"  修复 {record.source}：{record.reason}")
        for record in records:  # every file is reported
            if record.status in ("filed", "linked"):
                click.echo(f"  {Path(record.source).name}：{STATUS_ZH[record.status]}（{record.doc_id}）")
            else:
                click.echo(f"  {Path(record.source).name}：{STATUS_ZH[record.status]}，{record.reason}")
        click.echo(summary_zh(records))
    if ingester.failure is not None:  # e.g. no OCR worker: every file reported above, then a non-zero exit
        raise ingester.failure


@cli.group(invoke_without_command=True)
@click.pass_context
def review(ctx) -> None:
    """待分拣的扫描件：list 列出，show 查看，accept 确认或改正后归档，assign 指定家庭，reject 退回。"""
    if ctx.invoked_subcommand is None:
        ctx.invoke(review_list_cmd)


@review.command("list")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def review_list_cmd(ctx, as_json=False) -> None:
    """列出待分拣的扫描件。"""
    from archive.scans.review import review_list

    items = review_list(_home(ctx))
    if as_json:
        for item in items:
            _emit_json(item)
        return
    if not items:
        click.echo("待分拣队列为空。")
    for item in items:
        click.echo(f"{item['doc_id']}  {item['source_name']}（{item['pages']}页）  {item['reason']}")
        click.echo(f"    {item['excerpt']}…  {item['path']}")
        if item.get("proposed_household"):
            click.echo(f"    确认：archive review show {item['doc_id']}，再 archive review accept {item['doc_id']}")


@review.command("assign")
@click.argument("doc_id")
@click.option("--household", required=True, help="户主身份证号")
@click.option("--type", "doc_type", help="文书类型，如 id-card、hukou、refusal")
@json_option
@click.pass_context
def review_assign_cmd(ctx, doc_id, household, doc_type, as_json) -> None:
    """把待分拣的扫描件归入指定家庭。"""
    from archive.scans.review import review_assign

    home = _home(ctx)
    result = review_assign(home, doc_id, household, doc_type)
    _update_index(home)
    if as_json:
        _emit_json(result)
        return
    click.echo(f"已将 {result['doc_id']} 归入家庭 {result['household']}（{result['type']}）")
    if result.get("warning"):
        click.echo(result["warning"])


@review.command("show")
@click.argument("doc_id")
@json_option
@click.pass_context
def review_show_cmd(ctx, doc_id, as_json) -> None:
    """查看一份待分拣的扫描件：原因、拟归入的家庭、识别置信度低的文字（【】标出）。"""
    from archive.scans.review import review_show

    item = review_show(_home(ctx), doc_id)
    if as_json:
        _emit_json(item)
        return
    click.echo(f"{item['doc_id']}  {item['source_name']}（{item['pages']}页）  {item['path']}")
    for reason in item["reasons"]:
        click.echo(f"  原因：{reason}")
    if item["proposed_household"]:
        click.echo(f"  拟归入：{item['proposed_village']} {item['proposed_head']}户（{item['proposed_household']}），"
                   f"类型 {item['proposed_type'] or '扫描件'}")
    uncertain = {(line["page"], line["line"]): line for line in item["uncertain_lines"]}
    for line in item["lines"]:
        flagged = uncertain.get((line["page"], line["line"]))
        note = f"（置信度低 {flagged['confidence']:.2f}）{flagged['marked']}" if flagged else line["text"]
        click.echo(f"  {'!' if flagged else ' '} {line['page']}:{line['line']}  {note}")
    click.echo(f"确认无误：archive review accept {item['doc_id']}；改正某行：--fix 页:行=文字；另指定家庭：--household 身份证号")


@review.command("accept")
@click.argument("doc_id")
@click.option("--household", help="户主身份证号（不给则用拟归入的家庭）")
@click.option("--type", "doc_type", help="文书类型，如 id-card、hukou、refusal")
@click.option("--fix", "fixes", multiple=True, help="改正一行：页:行=文字（页、行号见 review show），可多次给出")
@json_option
@click.pass_context
def review_accept_cmd(ctx, doc_id, household, doc_type, fixes, as_json) -> None:
    """确认（或改正后确认）一份待分拣的扫描件并归档；改正记入操作日志。"""
    from archive.scans.review import parse_fix, review_accept

    home = _home(ctx)
    result = review_accept(home, doc_id, household, doc_type, [parse_fix(spec) for spec in fixes])
    _update_index(home)
    if as_json:
        _emit_json(result)
        return
    click.echo(f"已确认 {result['doc_id']}，归入家庭 {result['household']}（{result['type']}），"
               f"改正 {len(result['corrections'])} 行")


@review.command("reject")
@click.argument("doc_id")
@click.option("--reason", required=True, help="退回原因（必填，记入操作日志）")
@json_option
@click.pass_context
def review_reject_cmd(ctx, doc_id, reason, as_json) -> None:
    """退回待分拣的扫描件（文件保留，记录原因）。"""
    from archive.scans.review import review_reject

    home = _home(ctx)
    result = review_reject(home, doc_id, reason)
    _update_index(home)
    if as_json:
        _emit_json(result)
        return
    click.echo(f"已退回 {doc_id}：{reason}")


# --- archive and search ------------------------------------------------------------------

@cli.command()
@click.argument("query", nargs=-1)
@click.option("--village", help="只查该村(社区)")
@click.option("--type", "doc_type", help="文书类型，如 refusal 或 不予批准告知书")
@click.option("--category", type=click.Choice(["低保", "特困", "临时救助", "低保边缘"]), help="保障类别")
@click.option("--year", type=int, help="年度，如 2025")
@click.option("--month", help="月份 YYYY-MM")
@click.option("--household", help="户主身份证号")
@click.option("--limit", default=20, show_default=True, help="最多返回多少份文书")
@click.option("--township", metavar="乡镇", help="县级档案库：只查这个乡镇；不给时查全县各乡镇")
@click.option("--json", "as_json", is_flag=True, help="每条结果输出一行 JSON")
@click.pass_context
def search(ctx, query, village, doc_type, category, year, month, household, limit, township, as_json) -> None:
    """全文检索：姓名、身份证号（或后4到6位）、文号、正文短语，可加筛选条件。结果按家庭分组。

    县级档案库：不指定乡镇时检索全县各乡镇，每条结果注明乡镇；--township 只查一个乡镇。"""
    from archive.county import CountyHome, is_county_root, search_townships
    from archive.home import resolve_home, resolve_root
    from archive.search.engine import search as run_search

    if limit < 1:
        raise UsageError(f"--limit 应为正整数（收到 {limit}）")
    township = township or ctx.find_root().obj.get("township")
    root = resolve_root(ctx.obj["home_dir"])
    filters = dict(village=village, doc_type=doc_type, category=category, year=year, month=month,
                   household=household, limit=limit)
    if is_county_root(root):
        county = CountyHome(root)
        result = search_townships(county, " ".join(query), [township] if township else None, **filters)
    else:
        home = resolve_home(root.as_posix(), township)
        result = run_search(home, " ".join(query), **filters)
    if not result.hits and not result.households:
        # nothing found is "not found" (exit 3), in text and under --json alike; stdout stays empty
        raise NotFoundError(f"没有找到「{result.query}」（用时 {result.seconds * 1000:.0f} 毫秒）")
    if as_json:
        for hit in result.hits:
            _emit_json({key: value for key, value in hit.to_json().items()})
        for found in result.households:
            _emit_json(found.to_json())
        return
    if result.ambiguity:
        click.echo(f"提示：{result.ambiguity}。")
    if result.hits:
        about = "" if result.exact else "约"
        click.echo(f"找到{about} {result.total} 份文书，显示 {len(result.hits)} 份（用时 {result.seconds * 1000:.0f} 毫秒）：")
    for group in result.groups():
        head = f"{group.name}（{group.household}，{group.village}）" if group.household else "未关联家庭"
        if group.township:
            head = f"【{group.township}】{head}"
        click.echo(f"■ {head} {len(group.hits)} 份")
        for hit in group.hits:
            number = f" {hit.number}" if hit.number else ""
            marks = ("【已作废】" if hit.voided else "") + (f"「近似」（{hit.matched}）" if hit.approximate and hit.matched
                                                        else "「近似」" if hit.approximate else "")
            click.echo(f"  · {hit.date} {hit.title}{number}（{hit.copy}）{marks}  位置：{hit.location}")
            if hit.path:
                click.echo(f"    文件：{hit.path}")
            if hit.snippet:
                click.echo(f"    {hit.snippet}")
    for found in result.households:
        near = f"「近似」（{found.matched}）" if found.approximate else ""
        where = f"【{found.township}】" if found.township else ""
        click.echo(f"■ {where}{found.name}（{found.household}）{near}：{found.message}")


@cli.command()
@click.argument("household_id")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def show(ctx, household_id, as_json) -> None:
    """查看一户的档案（一户一档），逐件列出所在盒号、件号和文件。可用户主或成员的身份证号（或后4到6位）或姓名。"""
    from archive.filing.household_file import format_household_file, open_household_file

    home = _home(ctx)
    data = open_household_file(home, household_id)
    if as_json:
        _emit_json(data)
    else:
        click.echo(format_household_file(data))


@cli.command()
@click.option("--procs", default=1, show_default=True, help="并行进程数")
@json_option
@click.pass_context
def reindex(ctx, procs, as_json) -> None:
    """从目录数据库重建全文索引。"""
    from archive.index.store import sync

    home = _home(ctx)

    def progress(done: int, todo: int) -> None:
        click.echo(f"重建全文索引：{done}/{todo} 份（可中断，再次运行 archive reindex 从中断处继续）", err=True)

    result = sync(home, full=True, procs=procs, on_wait=lambda m: click.echo(m, err=True), on_progress=progress)
    if as_json:
        _emit_json({"written": result.written, "seconds": round(result.seconds, 2)})
        return
    click.echo(f"已重建全文索引：{result.written} 份文书，用时 {result.seconds:.1f} 秒")


@cli.command("check-index")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def check_index(ctx, as_json) -> None:
    """检查全文索引：目录中有而索引中缺失的、索引内容过期的、索引中多余的文书。"""
    from archive.index.store import check

    result = check(_home(ctx))
    if as_json:
        _emit_json(result.to_json())
    else:
        click.echo(f"缺失 {len(result.missing)} 份，过期 {len(result.stale)} 份，多余 {len(result.orphans)} 份")
        if result.outdated:
            click.echo("索引是旧版本程序建立的，格式已更新，需要重建。")
        for label, items in (("缺失", result.missing), ("过期", result.stale), ("多余", result.orphans)):
            for doc_id in items[:50]:
                click.echo(f"  {label}：{doc_id}")
        if not result.ok:
            click.echo("请运行 archive reindex 修复。")
    if not result.ok:
        ctx.exit(ExitCode.PROBLEMS)


@cli.command()
@click.argument("doc_id")
@click.option("--household", required=True, help="应归属家庭的户主身份证号")
@click.option("--reason", required=True, help="改归的原因（必填，记入操作日志）")
@json_option
@click.pass_context
def move(ctx, doc_id, household, reason, as_json) -> None:
    """把归错家庭的文书调到正确的家庭（记录在案，不删除任何文件）。"""
    from archive.filing.moves import move_document

    home = _home(ctx)
    result = move_document(home, doc_id, household, reason)
    _update_index(home)
    if as_json:
        _emit_json(result)
        return
    click.echo(f"已将文书 {doc_id} 从 {result['from'] or '（无）'} 调到 {result['to']}")
    if result.get("paper"):
        click.echo(result["paper"])


@cli.group()
def household() -> None:
    """家庭。"""


@household.command("move")
@click.argument("household_id")
@click.option("--village", required=True, help="新的村(社区)")
@click.option("--reason", required=True, help="搬迁的原因（必填，记入操作日志）")
@json_option
@click.pass_context
def household_move(ctx, household_id, village, reason, as_json) -> None:
    """家庭迁到另一个村(社区)：档案随户调整，记录在案。"""
    from archive.filing.moves import move_household

    home = _home(ctx)
    result = move_household(home, household_id, village, reason)
    _update_index(home)
    if as_json:
        _emit_json(result)
        return
    click.echo(f"已将家庭 {result['household']} 调到 {result['village']}，随迁文书 {result['documents']} 份")
    if result.get("paper"):
        click.echo(result["paper"])


# --- month end and inspection ---------------------------------------------------------------

def _month(value: str):
    from archive.dates import parse_month

    try:
        return parse_month(value)
    except ValueError as exc:
        raise ArchiveError(str(exc)) from None


@cli.command("file-month")
@click.argument("month")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def file_month_cmd(ctx, month, as_json) -> None:
    """月末归档：编档号、盖归档章、装盒，生成归档文件目录、卷内目录、盒脊、备考表和完整性报告。"""
    from archive.filing.month import file_month

    home = _home(ctx)
    result = file_month(home, _month(month))
    _update_index(home)
    if as_json:
        _emit_json(result.to_json())
        if result.late:
            ctx.exit(1)
        return
    if result.empty:
        click.echo(f"{result.month} 没有待归档的文书（该月未关闭，之后到的文书仍可归档）。")
        return
    if result.reclosed:
        click.echo(f"{result.month} 重新打开后没有新的文书，已重新关闭（归档文件目录等保持不变）。")
        return
    if result.late:  # documents of the closed month that came after it was filed
        click.echo(result.late_message)
        ctx.exit(1)
    if not result.changed:
        click.echo(f"{result.month} 已归档，本次没有任何变化（如需补归档，请先运行 archive reopen-month {result.month} --reason 原因）。")
        return
    click.echo(f"{result.month} 归档 {len(result.items)} 件（另有 {result.attached} 份原稿随签收件归档）"
               + (f"，档号 {result.items[0].archival_code} 至 {result.items[-1].archival_code}" if result.items else ""))
    for box in result.boxes:
        click.echo(f"  {box.year}年 {box.village} {box.retention} 第{box.box_no}盒：件号 {box.first_item:04d}—{box.last_item:04d}，共 {box.items} 件")
    if result.waiting_review:
        click.echo(f"  注意：还有 {result.waiting_review} 份扫描件在待分拣队列，未归档（archive review list）")
    for code, problems in result.not_pdfa.items():
        click.echo(f"  注意：{code} 的归档副本不符合 PDF/A-2b（{'；'.join(problems)}），未标注 PDF/A")
    kinds: dict[str, int] = {}
    for finding in result.findings:
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    click.echo("  完整性检查：" + ("、".join(f"{k} {v} 处" for k, v in kinds.items()) or "未发现问题"))
    for finding in result.findings[:20]:
        click.echo(f"    {finding.village} {finding.name}：{finding.kind}，{finding.detail}")
    for name, path in result.outputs.items():
        if not name.startswith("卷内目录/"):
            click.echo(f"  {name}：{home.root / path}")


@cli.command("reopen-month")
@click.argument("month")
@click.option("--reason", required=True, help="重新打开的原因（必填，记入操作日志）")
@json_option
@click.pass_context
def reopen_month_cmd(ctx, month, reason, as_json) -> None:
    """重新打开已归档的月份（记录在案），以便补归档。已编的档号不变。"""
    from archive.filing.month import reopen_month

    reopen_month(_home(ctx), _month(month), reason)
    if as_json:
        _emit_json({"month": _month(month).strftime("%Y-%m"), "reopened": True, "reason": reason})
        return
    click.echo(f"已重新打开 {month}：{reason}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.option("--quick", is_flag=True, help="跳过逐个打开文件的可用性检测")
@click.pass_context
def verify(ctx, as_json, quick) -> None:
    """四性检测：真实性（摘要值）、完整性（缺失与件号断号）、可用性（能否打开）、安全性（操作日志）。"""
    from archive.county import CountyHome, verify_county
    from archive.filing.verify import verify as run_verify

    home = _county_or_home(ctx)
    if isinstance(home, CountyHome):  # a county home without --township: the county and every township
        results = verify_county(home, check_usability=not quick)
        for each in results:
            if as_json:
                _emit_json(each.to_json())
            else:
                click.echo(f"== {each.label} ==\n{each.result.report_zh()}")
        if not all(each.result.ok for each in results):
            ctx.exit(ExitCode.PROBLEMS)
        return
    result = run_verify(home, check_usability=not quick)
    if as_json:
        _emit_json(result.to_json())
    else:
        click.echo(result.report_zh())
    if not result.ok:
        ctx.exit(ExitCode.PROBLEMS)


@cli.command()
@click.option("--year", type=int, required=True, help="抽查的年度，如 2025")
@click.option("--rate", type=float, default=0.12, show_default=True, help="新增和退出家庭的抽查比例")
@click.option("--seed", type=int, help="随机种子（相同种子抽到相同的家庭）；默认用年度")
@click.option("--out", type=click.Path(dir_okay=False), help="调档清单 PDF 的保存位置")
@click.option("--force", is_flag=True, help="--out 指定的文件已存在时覆盖它")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def sample(ctx, year, rate, seed, out, force, as_json) -> None:
    """抽查：按比例随机抽取当年新增和退出的家庭，加上全部近亲属备案家庭，生成按柜、盒、件号排序的调档清单。"""
    from archive.filing.sample import write_sample_list

    if not 0 < rate <= 1:
        raise UsageError("--rate 应在 0 到 1 之间，例如 0.12")
    result = write_sample_list(_home(ctx), year, rate, seed, Path(out) if out else None, force)
    summary, items, target = result.summary, result.items, result.pdf
    if as_json:
        _emit_json(result.to_json())
        return
    click.echo(f"{year}年：新增 {summary['new']} 户、退出 {summary['exited']} 户，按 {rate:.0%} 抽取 {summary['sampled']} 户，"
               f"另有近亲属备案 {summary['kin_filed']} 户；共 {summary['households']} 户 {summary['documents']} 件待调阅")
    for item in items:
        where = f"{item.cabinet} {item.village} 第{item.box}盒 第{item.item:04d}件" if item.box else f"{item.cabinet} {item.village}"
        click.echo(f"  {where}  {item.title}  {item.name}（{item.reason}）")
    click.echo(f"调档清单：{target}")
    if result.replaced:
        click.echo(f"同名的旧清单内容不同，已保留为 {result.replaced}")


@cli.command()
@click.argument("household_ids", nargs=-1, required=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="导出的 PDF 文件（已存在时拒绝覆盖，加 --force 才覆盖）")
@click.option("--force", is_flag=True, help="输出文件已存在时覆盖它")
@json_option
@click.pass_context
def export(ctx, household_ids, out, force, as_json) -> None:
    """把若干户的档案导出为一个 PDF（卷内目录在前，按户、按件加书签）。导出记入操作日志。"""
    from archive.filing.export import export_households

    result = export_households(_home(ctx), list(household_ids), Path(out), force=force)
    if as_json:
        _emit_json(result)
        return
    click.echo(f"已导出 {result['households']} 户 {result['documents']} 件（{result['pages']} 页）：{result['out']}")
    if not result.get("pdfa", True):
        click.echo(f"注意：导出文件不符合 PDF/A-2b（{'；'.join(result['pdfa_problems'])}），未标注 PDF/A")


@cli.command()
@click.option("--month", required=True, help="比对的月份 YYYY-MM")
@click.option("--roster", "roster_file", required=True, type=click.Path(exists=True, dir_okay=False), help="省级系统导出的花名册")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def reconcile(ctx, month, roster_file, as_json) -> None:
    """三项一致：比对花名册、档案中的审核确认表和公示单，列出每一处不一致。"""
    from archive.filing.reconcile import write_reconciliation

    result = write_reconciliation(_home(ctx), _month(month), Path(roster_file))
    if as_json:
        _emit_json(result.to_json())
        ctx.exit(ExitCode.OK if result.ok else ExitCode.PROBLEMS)
    click.echo(f"{month} 比对完成：发现 {len(result.differences)} 处不一致")
    for d in result.differences:
        click.echo(f"  {d.village} {d.name}（{d.household}）：{d.kind}；花名册 {d.roster}，审核确认表 {d.archive}，公示单 {d.publicity}")
    click.echo(f"报告：{result.pdf}、{result.xlsx}")
    for kept in result.replaced:
        click.echo(f"同名的旧报告内容不同，已保留为 {kept}")
    ctx.exit(ExitCode.OK if result.ok else ExitCode.PROBLEMS)


# --- seals and signatures ------------------------------------------------------------------

@cli.group()
def seal() -> None:
    """电子印章。"""


@seal.command("set")
@click.argument("image", type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def seal_set(ctx, image, as_json) -> None:
    """设置本单位的印章图片（透明背景的红色 PNG），保存在档案库的受保护目录中。"""
    from archive.signing.keys import set_seal

    target = set_seal(_home(ctx), Path(image))
    if as_json:
        _emit_json({"seal": str(target)})
        return
    click.echo("已设置印章图片（保存在档案库 secure/ 目录，仅本用户可读）")


@cli.group()
def signer() -> None:
    """签章人（审批人）。"""


@signer.command("add")
@click.argument("name")
@click.option("--role", required=True, help="职务，如 镇长、分管副镇长")
@click.option("--signature", type=click.Path(dir_okay=False), help="签名图片")
@click.option("--cert", type=click.Path(dir_okay=False), help="PKCS#12 签名证书；密码放在环境变量 ARCHIVE_SIGN_PASSWORD 中")
@json_option
@click.pass_context
def signer_add(ctx, name, role, signature, cert, as_json) -> None:
    """登记签章人。"""
    from archive.signing.keys import add_signer

    result = add_signer(_home(ctx), name, role, Path(signature) if signature else None, Path(cert) if cert else None)
    if as_json:
        _emit_json(result)
        return
    extras = [x for x, on in (("签名图片", result["signature"]), ("数字证书", result["certificate"])) if on]
    click.echo(f"已登记签章人 {name}（{role}）" + (f"，含{'、'.join(extras)}" if extras else ""))


@cli.command("verify-signature")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def verify_signature_cmd(ctx, file, as_json) -> None:
    """检查 PDF 中的每一个数字签名：是否完好（未通过）、签名后是否有修改（签名后有修改）、证书是否为本档案库
    登记的证书或配置的信任根签发（无法确认签名人）。全部签名通过时退出码为 0，否则为 1。"""
    from archive.signing.validate import Trust, check_pdf, trust_of

    trust = trust_of(_home(ctx)) if ctx.obj["home_dir"] else Trust()
    report = check_pdf(Path(file), trust)
    if as_json:
        _emit_json(report.to_json())
    else:
        click.echo(report.report_zh())
    if not report.ok:
        ctx.exit(report.exit_code)


# --- templates ---------------------------------------------------------------------------

@cli.group("templates")
def templates_group() -> None:
    """文书模板。"""


@templates_group.command("list")
@json_option
@click.pass_context
def templates_list(ctx, as_json) -> None:
    """列出可用模板：代码、中文名称和文件（档案库 templates/ 中的同名模板优先）。"""
    from archive.documents.templates import available
    from archive.documents.types import registry

    home_templates = _home(ctx).templates_dir if ctx.obj["home_dir"] else None
    types = registry(home_templates)
    for template_id, path in available(home_templates).items():
        title = "（模板有误，见 archive templates check）" if template_id in types.broken else types.title(template_id)
        if as_json:
            _emit_json({"id": template_id, "title": title, "path": str(path)})
        else:
            click.echo(f"{template_id}\t{title}\t{path}")


@cli.command("types")
@json_option
@click.pass_context
def types_cmd(ctx, as_json) -> None:
    """列出全部文书类型：代码、中文名称、范围、归档类别、字段（来自模板，档案库 templates/ 中的优先）。"""
    from archive.documents.types import SCOPE_NAMES, registry

    types = registry(_home(ctx).templates_dir if ctx.obj["home_dir"] else None)
    for doc_type in types:
        if as_json:
            _emit_json(doc_type.to_json())
            continue
        marks = [SCOPE_NAMES.get(doc_type.scope, doc_type.scope), doc_type.category]
        if doc_type.has_stub:
            marks.append("含存根")
        if doc_type.public:
            marks.append("张贴")
        if doc_type.source == "home":
            marks.append("本乡镇模板")
        fields = "、".join(f"{f.name}（{f.label}{'，必填' if f.required else ''}）" for f in doc_type.fields)
        line = f"{doc_type.id}\t{doc_type.title}\t{'，'.join(marks)}"
        click.echo(line + (f"\t字段：{fields}" if fields else ""))
    for type_id, error in types.broken.items():
        if as_json:
            _emit_json({"id": type_id, "error": error.message})
        else:
            click.echo(f"{type_id}\t（模板有误：{error.message}）", err=True)


@templates_group.command("check")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def templates_check(ctx, files, as_json) -> None:
    """检查模板文件是否符合格式，且不含访问程序内部对象的写法（每个文件都检查，有问题时退出码为 4）。"""
    from archive.documents.templates import available, load_template_file
    from archive.errors import TemplateError

    paths = [Path(f) for f in files] or list(available(_home(ctx).templates_dir if ctx.obj["home_dir"] else None).values())
    failed = 0
    for path in paths:
        try:
            template = load_template_file(path)
        except TemplateError as exc:
            failed += 1
            if as_json:
                _emit_json({"path": str(path), "ok": False, "error": exc.message})
            else:
                click.echo(f"错误：{exc}", err=True)
            continue
        if as_json:
            _emit_json({"path": str(path), "id": template.id, "title": template.title, "ok": True})
        else:
            click.echo(f"通过：{path}（{template.title}）")
    if failed:
        raise BadInputError(f"{failed} 个模板未通过检查")


# --- demo --------------------------------------------------------------------------------

@cli.command()
@click.option("--households", default=300, show_default=True, help="样例家庭数")
@click.option("--month", default="2025-07", show_default=True, help="样例月份")
@click.option("--seed", default=7, show_default=True, help="样例数据的随机种子（相同种子得到相同的样例）")
@click.pass_context
@county_level
def demo(ctx, households, month, seed) -> None:
    """在一个新档案库中生成样例乡镇，并生成一个月的文书。"""
    from archive.demo import run_demo

    root = Path(ctx.obj["home_dir"] or "archive-demo")
    run_demo(root, households=households, month=month, seed=seed, echo=click.echo)

# --- casework: history, due list, retention ------------------------------------------------

@cli.group("history")
def history_group() -> None:
    """一户的经历：申请、调查、公示、决定、调整、停发、复核。"""


@history_group.command("add")
@click.argument("household_id")
@click.option("--kind", required=True,
              help="application 申请（纸质受理）、investigation 开始入户调查、review 定期复核")
@click.option("--date", "date_", required=True, help="日期 YYYY-MM-DD")
@click.option("--irregular-income/--regular-income", default=None, help="复核时：家庭收入是否不固定（决定复核周期）")
@click.option("--note", default="", help="说明")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def history_add(ctx, household_id, kind, date_, irregular_income, note, as_json) -> None:
    """登记没有生成文书的环节（决定须生成相应文书）。"""
    from archive.casework.history import describe, record_manual_event
    from archive.catalog import transaction
    from archive.documents.generate import parse_day

    home = _home(ctx)
    with transaction(home.db):
        event = record_manual_event(home.db, home.operator, household_id, kind, parse_day(date_),
                                    irregular_income=irregular_income, note=note)
    if as_json:
        _emit_json(event.to_json())
    else:
        click.echo(f"已登记：{describe(event.to_json())}")

@cli.command()
@click.option("--month", help="月份 YYYY-MM，默认本月")
@click.option("--xlsx", "xlsx_out", type=click.Path(dir_okay=False), help="同时写出 XLSX 文件")
@click.option("--force", is_flag=True, help="--xlsx 指定的文件已存在时覆盖它")
@click.option("--json", "as_json", is_flag=True, help="每项输出一行 JSON")
@click.pass_context
def due(ctx, month, xlsx_out, force, as_json) -> None:
    """到期和逾期事项：定期复核、入户调查、审核确认、不予批准告知、公示期满、签收件回收。"""
    import datetime as dt

    from archive import files
    from archive.casework.due import KIND_NAMES, due_list, due_xlsx

    first = _month(month) if month else dt.date.today().replace(day=1)
    if xlsx_out:
        files.check_output(Path(xlsx_out), force)
    home = _home(ctx)
    items = due_list(home, first)
    if xlsx_out:
        files.write_new(Path(xlsx_out), due_xlsx(items, home.config.township, first), force=force)
    if as_json:
        for item in items:
            _emit_json(item.to_json())
        return
    if not items:
        click.echo(f"{first.year}年{first.month}月没有到期或逾期的事项")
    for item in items:
        who = f"{item.village} {item.head_name}".strip()
        click.echo(f"【{item.state}】{item.due} {KIND_NAMES[item.kind]}  {who}  {item.detail}")
    if xlsx_out:
        click.echo(f"已写出：{xlsx_out}")


@cli.command()
@click.option("--as-of", "as_of", help="统计截止日期 YYYY-MM-DD，默认今天")
@click.option("--xlsx", "xlsx_out", type=click.Path(dir_okay=False), help="销毁清册（草稿）写到此文件；默认写在档案库 reports/ 下")
@click.option("--force", is_flag=True, help="--xlsx 指定的文件已存在时覆盖它")
@click.option("--json", "as_json", is_flag=True, help="每件一行 JSON，最后一行为汇总")
@click.pass_context
def retention(ctx, as_of, xlsx_out, force, as_json) -> None:
    """列出已到保管期限的档案，起草销毁清册供鉴定审批；软件不删除任何档案。"""
    from archive import files
    from archive.casework.retention import draft_destruction_list, retention_report
    from archive.documents.generate import parse_day

    if xlsx_out:
        files.check_output(Path(xlsx_out), force)
    home = _home(ctx)
    report = retention_report(home, parse_day(as_of))
    path = (draft_destruction_list(home, report, Path(xlsx_out) if xlsx_out else None, force=force)
            if report.reached else None)
    if as_json:
        for item in report.reached:
            _emit_json(item.to_json())
        _emit_json({"summary": report.summary(), "xlsx": str(path) if path else None, "unknown_stop_date": report.unknown})
        return
    for item in report.reached:
        click.echo(f"{item.archival_code or item.doc_id} {item.date} {item.title} {item.head_name}  到期 {item.term_end}（{item.basis}）")
    click.echo(f"截至 {report.as_of}：已到期 {len(report.reached)} 件，未到期 {report.kept} 件。软件不删除任何档案。")
    if report.unknown:
        click.echo(f"注意：{len(report.unknown)} 户花名册标为停保但没有停发记录，无法起算保管期限，未列入：{'、'.join(report.unknown)}")
    if path:
        click.echo(f"销毁清册（草稿）：{path}，须经鉴定小组鉴定并报批")


@cli.command("seal-existing")
@click.option("--reason", required=True, help="原因，例如：升级后首次封存")
@json_option
@click.pass_context
def seal_existing_cmd(ctx, reason, as_json) -> None:
    """给旧版本建立的档案库中还没有封存记录的文书补做封存（记录在案；已封存的不会重做）。"""
    from archive.sealing import seal_existing

    home = _home(ctx)
    count = seal_existing(home.db, home.operator, reason)
    if as_json:
        _emit_json({"sealed": count, "reason": reason})
        return
    click.echo(f"已封存 {count} 份文书的记录")


# --- backup and restore --------------------------------------------------------------------

@cli.command("backup")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--include-keys", is_flag=True, help="连同 secure/ 中的证书私钥、印章和签名图片一起备份（默认不备份）")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
def backup_cmd(ctx, dest, include_keys, as_json) -> None:
    """备份档案库到一个新目录：目录数据库（SQLite 在线备份，或 PostgreSQL 的 pg_dump）、全部文件和摘要清单 MANIFEST.sha256。"""
    from archive.backup import backup

    result = backup(_county_or_home(ctx), Path(dest), include_keys=include_keys)
    if as_json:
        _emit_json(result.to_json())
        return
    click.echo(f"已备份 {result.files} 个文件（{result.bytes / 1e6:.1f} MB）到 {result.dest}")
    if result.schema_outdated:
        click.echo("目录数据库的结构较旧，已按原样备份（未记入操作日志）；现在可以运行 archive upgrade 升级")
    click.echo(f"备份清单校验值（SHA-256，请另行记录）：{result.manifest_sha256}")
    if result.left_out_keys:
        click.echo(f"未备份 secure/ 中的私钥、印章和签名图片 {len(result.left_out_keys)} 个（需要时加 --include-keys）")
    for name in result.skipped:
        click.echo(f"警告：跳过链接或特殊文件：{name}", err=True)


@cli.command("restore")
@click.argument("backup_dir", type=click.Path(file_okay=False))
@click.option("--home", "target", type=click.Path(file_okay=False), help="恢复到的档案库目录（须不存在或为空）")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
@county_level
def restore_cmd(ctx, backup_dir, target, as_json) -> None:
    """从备份恢复档案库到一个空目录：复制前后逐个核对摘要清单，任何不符都拒绝恢复。"""
    from archive.backup import restore
    from archive.county import CountyHome, is_county_root
    from archive.home import Home, resolve_root

    root = resolve_root(target or ctx.obj["home_dir"])
    result = restore(Path(backup_dir), root)
    for _, township in (CountyHome(root).township_homes() if is_county_root(root) else [("", Home(root))]):
        _update_index(township)  # each township's index is rebuilt from its catalog
        township.close()
    if as_json:
        _emit_json(result.to_json())
        return
    click.echo(f"已从 {backup_dir} 恢复 {result.files} 个文件到 {result.home}（备份于 {result.created}，"
               f"清单校验值 {result.manifest_sha256}）")
    if result.schema_outdated:
        click.echo("备份中的目录数据库是旧版本程序的结构：请先运行 archive upgrade，再运行 archive verify 做一次四性检测")
        return
    click.echo("建议运行 archive verify 做一次四性检测")


# --- users and the web application --------------------------------------------------------

@cli.group()
def user() -> None:
    """网页用户：add 添加，token 发放 API 令牌，list 列出，disable 停用。"""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["caseworker", "archivist", "inspector", "admin"]),
              help="caseworker 经办人、archivist 档案员、inspector 督查（只读）、admin 管理员")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（第一行），不提示")
@click.option("--township", metavar="乡镇", help="县级档案库：用户只能看到和操作这个乡镇（经办人、档案员必须指定）；"
                                                "不给时督查、管理员可看全县各乡镇")
@json_option
@click.pass_context
def user_add(ctx, name, role, password_stdin, township, as_json) -> None:
    """添加网页用户。密码提示输入两次，或用 --password-stdin 从标准输入读取；不能写在命令行上。"""
    from archive.users import ROLES, add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        while True:
            password = click.prompt("密码", hide_input=True)
            if password == click.prompt("再输入一次密码", hide_input=True):
                break
            click.echo("两次输入的密码不一致，请重新输入。", err=True)
    created = add_user(_accounts(ctx), name, role, password, township)
    if as_json:
        _emit_json(created.to_json())
        return
    scope = f"，限{created.township}" if created.township else ""
    click.echo(f"已添加用户 {created.name}（{ROLES[created.role]}{scope}）")


@user.command("token")
@click.argument("name")
@json_option
@click.pass_context
@county_level
def user_token(ctx, name, as_json) -> None:
    """为用户发放一个新的 API 令牌（只显示这一次，档案库只保存其摘要）。最后一行是令牌。"""
    from archive.users import new_token

    token = new_token(_accounts(ctx), name)
    if as_json:
        _emit_json({"user": name, "token": token})
        return
    click.echo(f"用户 {name} 的新 API 令牌（请求头 Authorization: Bearer 令牌；只显示这一次）：")
    click.echo(token)


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象（出错时错误信息以 JSON 写到标准错误）")
@click.pass_context
@county_level
def user_list(ctx, as_json) -> None:
    """列出网页用户。"""
    from archive.county import CountyHome
    from archive.users import list_users

    accounts = _accounts(ctx)
    county_wide = "  全县" if isinstance(accounts, CountyHome) else ""  # the column lines up on a county home
    users = list_users(accounts)
    for item in users:
        if as_json:
            _emit_json(item.to_json())
        else:
            state = "已停用" if item.disabled else "正常"
            scope = f"  {item.township}" if item.township else county_wide
            click.echo(f"{item.name}  {item.role_title}{scope}  {state}  上次登录：{item.last_login or '从未'}")
    if not users and not as_json:
        click.echo("还没有用户；用 archive user add 姓名 --role 角色 添加。")


@user.command("disable")
@click.argument("name")
@json_option
@click.pass_context
@county_level
def user_disable(ctx, name, as_json) -> None:
    """停用用户：立即不能登录，已登录的会话和 API 令牌随即失效。"""
    from archive.users import disable_user

    disabled = disable_user(_accounts(ctx), name)
    if as_json:
        _emit_json(disabled.to_json())
        return
    click.echo(f"已停用用户 {name}，其 API 令牌已作废")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址；默认只允许本机访问")
@click.option("--port", default=8000, show_default=True, type=int, help="监听的端口")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="TLS 证书（PEM）")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS 私钥（PEM）")
@click.option("--https-proxy", is_flag=True, help="在本机的 nginx 等 HTTPS 反向代理之后运行")
@click.pass_context
@county_level
def serve(ctx, host, port, certfile, keyfile, https_proxy) -> None:
    """启动网页版（浏览器访问），服务本档案库。"""
    from archive.home import resolve_root
    from archive.web.server import serve as run_server

    run_server(resolve_root(ctx.obj["home_dir"]), host=host, port=port, certfile=certfile, keyfile=keyfile,
               https_proxy=https_proxy, echo=click.echo)


@cli.command("upgrade")
@json_option
@click.pass_context
def upgrade_cmd(ctx, as_json) -> None:
    """升级目录数据库的结构到本程序的版本（旧版本程序建立的档案库先识别其版本）；已是最新时不做改动。"""
    from archive.county import CountyHome
    from archive.home import upgrade_home

    home = _county_or_home(ctx)
    # a county home without --township: the county's catalog, then every township's
    homes = ([("县级", home)] + home.township_homes()) if isinstance(home, CountyHome) else [(None, home)]
    for label, each in homes:
        result = upgrade_home(each)
        where = f"{label}：" if label else ""
        if as_json:
            _emit_json({**result.to_json(), **({"township": label} if label else {})})
        elif not result.changed:
            click.echo(f"{where}目录数据库已是最新结构（版本 {result.after}），无需升级")
        else:
            start = f"识别为版本 {result.adopted}" if result.adopted else f"版本 {result.before}"
            click.echo(f"{where}已升级目录数据库：{start} → {result.after}（执行 {len(result.applied)} 个版本："
                       f"{'、'.join(result.applied) or '无'}）")


@cli.command()
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64), metavar="N",
              help="同时处理的文件数（子进程数），一般不超过本机 CPU 核数")
@click.option("--name", metavar="名称", help="工作进程名称（如 ocr1@%h），同一台机器运行多个时用来区分")
@json_option
@click.pass_context
def worker(ctx, concurrency, name, as_json) -> None:
    """县级部署：启动 OCR 工作进程，从任务队列（broker_url）领取扫描件识别任务，直到被停止。

    在县级档案库上不指定乡镇时服务全县各乡镇；--township 只服务一个乡镇。"""
    from archive.scans.queue import run_worker

    run_worker(_county_or_home(ctx), concurrency, name, as_json, echo=click.echo)


def main() -> None:
    cli(prog_name="archive")


if __name__ == "__main__":
    sys.exit(main())



# --- generate-batch ------------------------------------------------------------------------

@cli.command("generate-batch")
@click.argument("doc_type", metavar="TYPE")
@click.option("--village", help="只生成该村(社区)的家庭")
@click.option("--category", type=click.Choice(["低保", "特困", "临时救助", "低保边缘"]), help="只生成该保障类别")
@click.option("--status", type=click.Choice(["active", "applicant", "stopped"]), help="只生成该状态（在保、申请中、停保）")
@click.option("--decided-from", help="审核确认日期范围的起始日期 YYYY-MM-DD")
@click.option("--decided-to", help="审核确认日期范围的截止日期 YYYY-MM-DD")
@click.option("--household", "households", multiple=True, metavar="身份证号", help="只生成这些户（户主身份证号，可重复）")
@click.option("--date", "date_", help="成文日期 YYYY-MM-DD，默认今天")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="每份文书相同的模板字段")
@click.option("--out", type=click.Path(dir_okay=False), metavar="文件", help="合并 PDF 的保存位置（默认档案库 batches/ 下）")
@json_option
@click.pass_context
def generate_batch_cmd(ctx, doc_type, village, category, status, decided_from, decided_to, households, date_, sets,
                       out, as_json) -> None:
    """同一种文书批量生成给多户，合并为一个 PDF 打印（同 archive generate TYPE --village …）。

    例如本周审核确认的每一户的审核确认通知书：
    archive generate-batch confirmation --decided-from 2025-07-07 --decided-to 2025-07-11
    """
    from archive.documents.generate import parse_day, parse_set_options

    _run_batch(ctx, _home(ctx), doc_type, village=village, category=category, status=status,
               decided_from=decided_from, decided_to=decided_to, households=households, day=parse_day(date_),
               params=parse_set_options(sets), out=out, as_json=as_json)


def _run_batch(ctx, home, doc_type: str, *, village, category, status, decided_from, decided_to, households,
               day, params, out, as_json) -> None:
    """The batch form of `generate` (and its alias `generate-batch`): one JSON line per household's
    document (or its error), then one line for the merged PDF and the counterfoils' PDF."""
    from archive.documents.batch import generate_batch, plan_batch, select_households
    from archive.documents.generate import parse_day
    from archive.roster.households import get_household

    chosen = select_households(home, village=village, category=category, status=status,
                               decided_from=parse_day(decided_from), decided_to=parse_day(decided_to))
    if households:
        wanted = {get_household(home.db, h).id for h in households}
        chosen = [h for h in chosen if h.id in wanted]

    def progress(index, total, item) -> None:
        if not as_json:
            state = f"失败：{item.error}" if item.error else (item.number or item.doc_id)
            click.echo(f"  [{index}/{total}] {item.name}户（{item.village}）：{state}", err=True)
        for warning in item.warnings:
            click.echo(f"警告：{warning}", err=True)

    # the households checked first, as the web's batch does (documents.batch.plan_batch): one
    # without the decision its notice announces, or failing the generator's check, is skipped
    plan = plan_batch(home, doc_type, chosen, day, params)
    for household, reason in plan.skipped:
        if not as_json:
            click.echo(f"  跳过 {household.head_name}户（{household.village}）：{reason}", err=True)
    if not plan.eligible:
        raise ArchiveError(f"{len(plan.skipped)} 户全部被跳过：{plan.skipped[0][1]}")
    result = generate_batch(home, doc_type, plan.eligible, day, params, Path(out) if out else None, progress)
    _update_index(home)
    if as_json:
        for item in result.items:
            row = home.db.execute("SELECT pdf_path, docx_path FROM documents WHERE doc_id=?",
                                  (item.doc_id,)).fetchone() if item.doc_id else None
            _emit_json({"type": result.type, **item.to_json(),
                        "pdf": str(home.root / row["pdf_path"]) if row and row["pdf_path"] else None,
                        "docx": str(home.root / row["docx_path"]) if row and row["docx_path"] else None})
        _emit_json({"batch": True, **result.summary(), "skipped": plan.to_json()["skipped"]})
    else:
        stubs = f"；存根 PDF（{result.stub_pages} 页）：{result.stubs_pdf}" if result.stubs_pdf else ""
        click.echo(f"「{result.title}」：{len(result.made)} 户已生成，{len(result.failed)} 户失败；"
                   f"合并 PDF（{result.pages} 页）：{result.pdf or '无'}{stubs}")
    if not result.made:
        raise ArchiveError(f"{len(result.failed)} 户全部未能生成：{result.failed[0].error}")


# --- a county home: one deployment, many townships (docs/COUNTY.md) -------------------------

@cli.group()
def township() -> None:
    """县级档案库（一个部署，多个乡镇）：add 添加乡镇，join 并入现有的乡镇档案库，list 列出乡镇。"""


@township.command("add")
@click.argument("name", metavar="乡镇")
@click.option("--county", required=True, help="县(区)名称，须与县级档案库一致；目录不存在或为空时据此新建县级档案库")
@click.option("--fonds", required=True, help="本乡镇的全宗号（各乡镇不同），如 Z109")
@click.option("--villages", default="", help="村(社区)名单，用逗号分隔")
@click.option("--province", default="", help="省（自治区），印在文书上；可不填")
@click.option("--city", default="", help="市（州），印在文书上；可不填")
@click.option("--complaint-phone", default="", help="监督举报电话（印在公示单上）")
@click.option("--office-phone", default="", help="本乡镇民政办公室电话（印在告知书上）")
@click.option("--dibao-standard", default="", help="当地最低生活保障标准（元/人·月，临时救助审批额度按它计算）")
@click.option("--operator", default=None, help="本乡镇的整理人（印在备考表上）；不给时用环境变量 ARCHIVE_OPERATOR")
@json_option
@county_level
@click.pass_context
def township_add(ctx, name, county, fonds, villages, province, city, complaint_phone, office_phone, dibao_standard,
                 operator, as_json) -> None:
    """在县级档案库中添加一个乡镇：townships/乡镇名/ 下一个完整的乡镇档案库（自己的全宗号、村、文号、档号、盒）。"""
    import os

    from archive.county import add_township
    from archive.home import resolve_root
    from archive.identity import check_operator_name

    operator = operator if operator is not None else os.environ.get("ARCHIVE_OPERATOR")
    operator = check_operator_name(operator) if operator else ""
    names = [v.strip() for v in villages.replace("，", ",").replace("、", ",").split(",") if v.strip()]
    added = add_township(resolve_root(ctx.obj["home_dir"]), name, county=county, fonds=fonds, villages=names,
                         operator=operator, province=province, city=city, complaint_phone=complaint_phone,
                         office_phone=office_phone, dibao_standard=_dibao_standard(dibao_standard.strip()))
    if as_json:
        _emit_json(added.to_json())
        return
    if added.created_county:
        click.echo(f"已新建{added.county}的县级档案库")
    click.echo(f"已添加乡镇：{added.township}（全宗号 {added.fonds}，{len(added.villages)} 个村(社区)），"
               f"档案库目录 {added.home}")
    if added.unset:  # as init warns on a run without a terminal
        names = [INIT_SETTING_NAMES[key][0] for key in added.unset]
        click.echo(f"注意：未设置{'、'.join(names)}；需要它们的文书（如公示单）生成时会停止并提示。"
                   f"请在 {added.home}/config.yaml 中设置 {'、'.join(added.unset)}", err=True)


@township.command("list")
@json_option
@county_level
@click.pass_context
def township_list(ctx, as_json) -> None:
    """列出县级档案库的乡镇。"""
    from archive.county import list_townships
    from archive.home import resolve_root

    for item in list_townships(resolve_root(ctx.obj["home_dir"])):
        if as_json:
            _emit_json(item)
        else:
            click.echo(f"{item['township']}  全宗号 {item['fonds']}  {len(item['villages'])} 个村(社区)："
                       f"{'、'.join(item['villages'])}")


@township.command("join")
@click.argument("path", metavar="乡镇档案库目录", type=click.Path(file_okay=False))
@click.option("--database-url", metavar="数据库地址",
              help="把并入的乡镇的目录数据库迁移到这个 PostgreSQL 数据库；不给时用县里其他乡镇所在的数据库（都是 SQLite 时不迁移）")
@json_option
@county_level
@click.pass_context
def township_join(ctx, path, database_url, as_json) -> None:
    """把一个现有的乡镇档案库并入县级档案库：复制到 townships/乡镇名/，逐个核对文件摘要和目录数据库各表的行数、摘要，原目录改名保留。"""
    from archive.county_join import join_township
    from archive.home import Home, resolve_root

    report = join_township(resolve_root(ctx.obj["home_dir"]), Path(path), database_url)
    joined = Home(Path(report.home))
    _update_index(joined)  # the index is derived: rebuilt in its new place
    joined.close()
    if as_json:
        _emit_json(report.to_json())
        return
    for table in report.tables:
        click.echo(f"{table.table}：{table.rows_before} 行 → {table.rows_after} 行，摘要 {table.digest_after[:8]}…  "
                   + ("一致" if table.same else "不一致"))
    click.echo(f"已并入乡镇：{report.township}（全宗号 {report.fonds}）→ {report.home}；{report.files} 个文件"
               f"（{report.bytes / 1e6:.1f} MB）摘要逐个核对一致，文件清单校验值 {report.manifest_sha256}")
    if report.accounts:
        click.echo(f"网页账号 {len(report.accounts)} 个转为县级档案库的账号（限定{report.township}）："
                   + "、".join(report.accounts))
    if report.migrated:
        click.echo(f"目录数据库已迁移到 {report.catalog}")
    if report.kept_as:
        click.echo(f"原目录已改名保留为 {report.kept_as}（核对无误后可自行删除）")
    for note in report.skipped:
        click.echo(f"警告：{note}", err=True)


@cli.command("migrate-to")
@click.argument("url", metavar="数据库地址")
@click.option("--schema", metavar="模式名", help="PostgreSQL 中的模式名（默认 archive_ + 全宗号小写）；必须是空的")
@json_option
@click.pass_context
def migrate_to_cmd(ctx, url, schema, as_json) -> None:
    """把档案库的目录数据库（catalog.sqlite）迁移到 PostgreSQL（县级部署）：逐表核对行数和摘要，原文件改名保留。"""
    from archive.catalog_move import move_catalog

    home = _home(ctx)
    report = move_catalog(home, url, schema)
    _update_index(_home(ctx))  # an index kept in the SQLite catalog (fts5) is not moved: built in its new place
    if as_json:
        _emit_json(report.to_json())
        return
    for table in report.tables:
        click.echo(f"{table.table}：{table.rows_before} 行 → {table.rows_after} 行，摘要 {table.digest_after[:16]}… 一致")
    click.echo(f"已迁移到 PostgreSQL {report.url} 模式 {report.schema}；操作日志 {report.audit_rows} 条，链核对通过")
    click.echo(f"原目录数据库改名保留为 {report.old_catalog}；核对报告：{report.report}")
