"""The CLI's output and exit-code contract (docs/ARCHITECTURE.md, 退出码与 JSON 输出), through the real CLI:
one exit code per class of failure, errors as JSON on stderr under --json, click's own messages in
Chinese for every command, and --json on every command that lists or changes something."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archive import cli as cli_module
from archive import clicn
from archive.cli import cli
from archive.errors import ExitCode, LockedError

# Commands that neither list nor change anything in an archive (demo makes a throwaway sample).
NO_JSON_NEEDED = {"demo", "serve"}

# English that click would print if its catalogue were missing (usage, help titles, metavars, errors).
ENGLISH = ["Usage:", "Options:", "Commands:", "Show this message", "[OPTIONS]", "COMMAND [ARGS]", "[default:", "[required]", "Error:", "Missing argument",
           "Missing option", "No such option", "No such command", "Invalid value", "Try '", "Did you mean",
           "does not exist", "is not one of", "is not a valid", "Got unexpected extra"]

# click's type names as option metavars ("--out FILE"); argument metavars are the project's own names.
OPTION_METAVAR = re.compile(r"--[\w-]+ (TEXT|INTEGER|FLOAT|BOOLEAN|PATH|FILE|DIRECTORY)\b")

# click msgids that archive's CLI never shows (developer errors, Windows console, editor, shell completion).
NOT_SHOWN = {
    "d", "{editor}: Editing failed", "{editor}: Editing failed: {e}", "Windows error: {error}",
    "Could not determine name for option with declarations {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? "
    "Did you mean to pass '--{name}'?",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.", "Name '{name}' defined twice",
    "Boolean option {decl!r} cannot use the same flag for true/false.",
    "Couldn't detect Bash version, shell completion is not supported.",
    "Shell completion is not supported for Bash versions older than 4.4.", "Unknown color {colour!r}",
    "Unknown standard stream '{name}'",
}


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def json_error(result) -> dict:
    """Under --json an error is one JSON object, the last line on stderr; nothing on stdout."""
    assert "Traceback" not in result.stderr
    payload = json.loads(result.stderr.strip().splitlines()[-1])
    assert set(payload) >= {"error", "code", "kind"} and payload["code"] == result.exit_code, payload
    assert any("\u4e00" <= ch <= "\u9fff" for ch in payload["error"]), payload
    return payload


def commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    """Every command and group under `group`, as (path, command)."""
    for name, command in sorted(group.commands.items()):
        yield path + (name,), command
        if isinstance(command, click.Group):
            yield from commands(command, path + (name,))


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    result = run("--home", str(root), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                 "--villages", "龙井村,杨眉村")
    assert result.exit_code == 0, result.stderr
    return root


# --- exit codes, one per class of failure -------------------------------------------------

def test_usage_errors_exit_2_in_chinese():
    result = run("void")
    assert result.exit_code == ExitCode.USAGE == 2
    assert "用法: archive void [选项] DOC_ID" in result.stderr and "缺少参数" in result.stderr
    result = run("search", "--limit", "很多")
    assert result.exit_code == 2 and "不是有效的整数" in result.stderr
    result = run("generate", "approval", "--sign")  # contradicting options, found by the command itself
    assert result.exit_code == 2 and "--approver" in result.stderr
    assert json_error(run("void", "--json"))["kind"] == "usage"
    assert json_error(run("generate", "approval", "--sign", "--json"))["kind"] == "usage"


def test_not_found_exits_3(tmp_path, cli_home):
    result = run("--home", str(tmp_path / "nothing-here"), "village", "list")
    assert result.exit_code == ExitCode.NOT_FOUND == 3 and "init" in result.stderr
    assert not result.stdout and "Traceback" not in result.stderr
    result = run("verify-signature", str(tmp_path / "none.pdf"), "--json")
    assert json_error(result) == {"error": f"文件不存在：{tmp_path / 'none.pdf'}", "code": 3, "kind": "not_found"}
    result = run("--home", str(cli_home), "show", "520111198001010011", "--json")
    assert json_error(result)["kind"] == "not_found" and result.exit_code == 3


def test_bad_input_exits_4(tmp_path, cli_home):
    bad = tmp_path / "bad.csv"
    bad.write_text("成员姓名,身份证号\n张三,12345\n", encoding="utf-8")
    result = run("--home", str(cli_home), "roster", "import", str(bad))
    assert result.exit_code == ExitCode.BAD_INPUT == 4 and result.stderr.startswith("错误：")
    payload = json_error(run("--home", str(cli_home), "roster", "import", str(bad), "--json"))
    assert payload["kind"] == "bad_input"
    template = tmp_path / "broken.yaml"
    template.write_text("id: [unclosed\n", encoding="utf-8")
    result = run("templates", "check", str(template), "--json")
    assert result.exit_code == 4 and json_error(result)["kind"] == "bad_input"
    assert json.loads(result.stdout)["ok"] is False  # each file reported on stdout, the failure on stderr


def test_conflict_and_lock_exit_5(cli_home, monkeypatch):
    result = run("--home", str(cli_home), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                 "--villages", "龙井村")
    assert result.exit_code == ExitCode.CONFLICT == 5 and "已经是一个档案库" in result.stderr
    result = run("--home", str(cli_home), "reopen-month", "2025-07", "--reason", "补归档", "--json")
    assert json_error(result) == {"error": "2025-07 尚未归档，无需重新打开", "code": 5, "kind": "conflict"}

    def busy(ctx):
        raise LockedError("全文索引正被另一个进程写入", hint="稍后再试")

    monkeypatch.setattr(cli_module, "_home", busy)
    assert json_error(run("--home", str(cli_home), "village", "list", "--json")) == {
        "error": "全文索引正被另一个进程写入", "code": 5, "kind": "locked", "hint": "稍后再试"}
    result = run("--home", str(cli_home), "village", "list")
    assert result.exit_code == 5 and result.stderr == "错误：全文索引正被另一个进程写入\n提示：稍后再试\n"


def test_problems_found_exit_1_and_success_0(tmp_path, cli_home):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    result = run("verify-signature", str(junk), "--json")
    assert result.exit_code == ExitCode.PROBLEMS == 1 and json.loads(result.stdout)["ok"] is False
    result = run("--home", str(cli_home), "village", "add", "新村", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == {"added": ["新村"], "villages": ["龙井村", "杨眉村", "新村"]}
    result = run("--home", str(cli_home), "village", "list", "--json")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"village": "龙井村"}, {"village": "杨眉村"}, {"village": "新村"}]


def test_roster_problems_travel_in_the_json_error(tmp_path, cli_home):
    from archive import sample

    header = sample.ROSTER_HEADER[:11]
    row = ["1", "青岩镇", "龙井村", "张三", "张三", "本人", "12345", "低保", "1", "500", "2025-07-01"]
    path = tmp_path / "one.csv"
    path.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    payload = json_error(run("--home", str(cli_home), "roster", "import", str(path), "--json"))
    assert payload["code"] == 4 and payload["problems"] and payload["problems"][0]["row"] == 2
    assert "\n" not in payload["error"]


# --- Chinese from click, for every command ------------------------------------------------

def test_every_msgid_click_can_show_is_translated():
    """A click upgrade that adds a message fails here until it is translated (or listed as never shown)."""
    singles, pairs = set(), set()
    for source in sorted(Path(click.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if node.func.id == "_" and texts:
                    singles.add(texts[0])
                elif node.func.id == "ngettext" and len(texts) == 2:
                    pairs.add(tuple(texts))
    assert len(singles) > 50 and len(pairs) >= 5  # the scan itself works
    assert sorted(singles - set(clicn.MESSAGES) - NOT_SHOWN) == []
    assert sorted(pairs - set(clicn.PLURALS)) == []
    for english, chinese in clicn.MESSAGES.items():  # placeholders survive translation
        assert sorted(_fields(english)) == sorted(_fields(chinese)), english


def _fields(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name] + [
        part.split(")")[0] for part in text.split("%(")[1:]]


@pytest.mark.parametrize("path", [p for p, _ in commands()] + [()], ids=lambda p: " ".join(p) or "archive")
def test_help_and_usage_are_chinese(path):
    result = run(*path, "--help")
    assert result.exit_code == 0 and "用法: archive" in result.stdout and "选项:" in result.stdout
    assert "显示本帮助并退出。" in result.stdout
    leaked = [word for word in ENGLISH if word in result.stdout] + OPTION_METAVAR.findall(result.stdout)
    assert not leaked, f"{' '.join(path)} --help: {leaked}\n{result.stdout}"
    wrong = run(*path, "--no-such-option")
    assert wrong.exit_code == 2 and "没有选项 '--no-such-option'" in wrong.stderr
    leaked = [word for word in ENGLISH if word in wrong.stderr]
    assert not leaked, f"{' '.join(path)}: {leaked}\n{wrong.stderr}"


def test_every_listing_or_changing_command_has_json():
    missing = [" ".join(path) for path, command in commands()
               if not isinstance(command, click.Group) and path[-1] not in NO_JSON_NEEDED
               and "--json" not in {o for p in command.params for o in getattr(p, "opts", [])}]
    assert missing == []


def test_every_option_has_chinese_help():
    """`archive serve --help` and every other command's help explain each option in Chinese."""
    han = re.compile(r"[\u4e00-\u9fff]")
    missing = [f"{' '.join(path)} {'/'.join(param.opts)}" for path, command in [((), cli), *commands()]
               for param in command.params
               if isinstance(param, click.Option) and not param.hidden and not han.search(param.help or "")]
    assert missing == []
    shown = run("serve", "--help").stdout
    assert re.search(r"--port [^\n]*监听的端口", shown) and re.search(r"--host [^\n]*\S", shown)
