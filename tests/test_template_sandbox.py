"""Templates in the archive home are untrusted: nothing in them runs code. `templates check`
refuses an escape attempt naming the file and line; rendering happens in Jinja2's sandbox, so
even a template that got past the check cannot reach Python's globals."""

from __future__ import annotations

import pytest

from archive.documents import templates
from archive.documents.templates import load_template_file
from archive.errors import TemplateError
from tests.conftest import run_cli

HEADER = "id: confirmation\ntitle: 通知\nscope: household\nbody:\n  - title: 通知\n"


def _escapes(marker) -> list[tuple[str, str]]:
    """(template text, the word the refusal names) for each escape attempt."""
    touch = f"touch {marker}"
    return [
        (f"{{{{ cycler.__init__.__globals__.os.popen('{touch}').read() }}}}", "__init__"),
        (f"{{{{ joiner.__init__.__globals__.os.system('{touch}') }}}}", "__init__"),
        (f"{{{{ namespace.__init__.__globals__.os.system('{touch}') }}}}", "__init__"),
        (f"{{{{ lipsum.__globals__['os'].system('{touch}') }}}}", "__globals__"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__class__"),
        ("{{ head_name.__class__.__base__.__subclasses__() }}", "__class__"),
        ("{{ members['__class__'] }}", "__class__"),
        ("{{ head_name|attr('__class__') }}", "attr"),
        ("{{ self._TemplateReference__context }}", "_TemplateReference__context"),
        ("{{ self }}", "self"),
        (f"{{{{ cycler('a').__init__.__globals__.os.system('{touch}') }}}}", "__init__"),
    ]


def _write(home, text: str, key: str = "paragraph"):
    path = home.templates_dir / "confirmation.yaml"
    quoted = text.replace('"', '\\"')
    path.write_text(HEADER + f'  - {key}: "{quoted}"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("index", range(11))
def test_templates_check_refuses_escape_with_file_and_line(home, tmp_path, index):
    marker = tmp_path / "pwned"
    text, word = _escapes(marker)[index]
    path = _write(home, text)
    result = run_cli("--home", str(home.root), "templates", "check", str(path))
    assert result.exit_code != 0
    assert str(path) in result.stderr and "第6行" in result.stderr and word in result.stderr
    assert "不允许" in result.stderr
    assert not marker.exists()


def test_expression_escape_in_condition_is_refused(home, tmp_path):
    marker = tmp_path / "pwned"
    path = home.templates_dir / "confirmation.yaml"
    path.write_text(HEADER + f"  - paragraph: 正文\n    if: \"cycler.__init__.__globals__.os.system('touch {marker}')\"\n",
                    encoding="utf-8")
    with pytest.raises(TemplateError, match="第7行.*__init__"):
        load_template_file(path)
    assert not marker.exists()


def test_field_default_escape_is_refused(home, tmp_path):
    marker = tmp_path / "pwned"
    path = home.templates_dir / "confirmation.yaml"
    path.write_text("id: confirmation\ntitle: 通知\nscope: household\nfields:\n  x:\n    label: 甲\n"
                    f"    default: \"{{{{ joiner.__init__.__globals__.os.system('touch {marker}') }}}}\"\n"
                    "body:\n  - paragraph: '{{ x }}'\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="第7行.*__init__"):
        load_template_file(path)
    assert not marker.exists()


@pytest.mark.parametrize("index", [i for i in range(11) if i != 9])  # a bare {{ self }} only prints its name
def test_generate_runs_nothing_even_past_the_check(home, head_id, tmp_path, monkeypatch, index):
    """The sandbox itself stops the attempt, with the check switched off."""
    monkeypatch.setattr(templates, "_refuse_unsafe", lambda *args: None)
    templates._COMPILED.clear()
    marker = tmp_path / "pwned"
    text, _ = _escapes(marker)[index]
    path = _write(home, text)
    result = run_cli("--home", str(home.root), "generate", "confirmation", "--household", head_id)
    assert result.exit_code != 0
    assert str(path) in result.stderr and "第6行" in result.stderr
    assert "不允许" in result.stderr or "没有提供" in result.stderr  # sandbox refusal, or a helper that is not there
    assert "Traceback" not in result.output
    assert not marker.exists()


def test_sandbox_refuses_underscore_attribute_at_render(home, head_id, monkeypatch):
    monkeypatch.setattr(templates, "_refuse_unsafe", lambda *args: None)
    templates._COMPILED.clear()
    _write(home, "{{ head_name.__class__ }}")
    result = run_cli("--home", str(home.root), "generate", "confirmation", "--household", head_id)
    assert result.exit_code != 0 and "模板试图做不允许的操作" in result.stderr


def test_huge_repetition_is_refused(home, head_id):
    _write(home, "{{ 'x' * 100000000 }}")
    result = run_cli("--home", str(home.root), "generate", "confirmation", "--household", head_id)
    assert result.exit_code != 0 and "重复次数过大" in result.stderr and "第6行" in result.stderr


def test_ordinary_template_still_renders_and_checks(home, head_id):
    path = _write(home, "{{ head_name }}家{{ family_size }}人，{{ amount|money }}元{% if covered %}，已纳入{% endif %}")
    assert run_cli("--home", str(home.root), "templates", "check", str(path)).exit_code == 0
    result = run_cli("--home", str(home.root), "generate", "confirmation", "--household", head_id)
    assert result.exit_code == 0, result.stderr


def test_templates_check_reports_every_bad_file(home, tmp_path):
    good = home.templates_dir / "approval.yaml"
    good.write_text("id: approval\ntitle: 表\nscope: household\nbody:\n  - title: '{{ head_name }}'\n", encoding="utf-8")
    bad = _write(home, "{{ ''.__class__ }}")
    worse = home.templates_dir / "refusal.yaml"
    worse.write_text("id: refusal\ntitle: 告知书\nscope: household\nbody:\n  - title: 告知\n  - paragraph: '{{ self }}'\n",
                     encoding="utf-8")
    result = run_cli("--home", str(home.root), "templates", "check")
    assert result.exit_code != 0
    assert f"通过：{good}" in result.stdout
    assert str(bad) in result.stderr and str(worse) in result.stderr and "2 个模板未通过检查" in result.stderr
