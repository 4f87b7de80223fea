import re
import shutil

import pytest

from archive.documents.templates import available, load_template_file
from archive.errors import TemplateError
from archive.resources import builtin_templates_dir
from tests.conftest import run_cli


def test_all_builtin_templates_are_valid():
    paths = available()
    assert {"application", "declaration", "authorization", "home-visit", "approval", "refusal",
            "suspension", "adjustment", "confirmation", "publicity"} <= set(paths)
    for path in paths.values():
        load_template_file(path)


def _override(home, name, text):
    path = home.templates_dir / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_schema_error_names_file_field_and_line(home, head_id):
    source = (builtin_templates_dir() / "refusal.yaml").read_text(encoding="utf-8")
    broken = source.replace("number: 不批", "number: 12", 1)
    path = _override(home, "refusal", broken)
    line = broken.splitlines().index("number: 12") + 1
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id, "--set", "reason=x")
    assert result.exit_code != 0
    assert str(path) in result.stderr and "number" in result.stderr and f"第{line}行" in result.stderr
    assert "文本" in result.stderr  # the expected type, in Chinese


def test_unknown_block_type_is_reported_at_its_line(home):
    path = _override(home, "confirmation", "id: confirmation\ntitle: 通知\nscope: household\nbody:\n  - titel: 错字\n")
    with pytest.raises(TemplateError) as info:
        load_template_file(path)
    assert "第5行" in str(info.value) and "titel" in str(info.value)


def test_block_with_bad_option_is_reported_in_its_branch(home):
    path = _override(home, "confirmation",
                     "id: confirmation\ntitle: 通知\nscope: household\nbody:\n  - paragraph: 正文\n    align: middle\n")
    with pytest.raises(TemplateError) as info:
        load_template_file(path)
    assert "第6行" in str(info.value) and "middle" in str(info.value)


def test_duplicate_keys_are_refused(home):
    path = _override(home, "confirmation", "id: confirmation\ntitle: 通知\ntitle: 又一个\nscope: household\nbody:\n  - title: x\n")
    with pytest.raises(TemplateError, match="第3行.*重复"):
        load_template_file(path)


def test_yaml_and_jinja_syntax_errors_have_lines(home):
    path = _override(home, "confirmation", "id: confirmation\ntitle: [未闭合\n")
    with pytest.raises(TemplateError, match=r"第\d+行"):
        load_template_file(path)
    path = _override(home, "confirmation",
                     "id: confirmation\ntitle: 通知\nscope: household\nbody:\n  - title: 通知\n  - paragraph: '{{ head_name '\n")
    with pytest.raises(TemplateError) as info:
        load_template_file(path)
    assert "第6行" in str(info.value) and "语法" in str(info.value)


def test_misspelled_variable_names_template_and_line(home, head_id):
    path = _override(home, "confirmation",
                     "id: confirmation\ntitle: 通知\nscope: household\nbody:\n  - title: 通知\n  - paragraph: '{{ head_nmae }}'\n")
    result = run_cli("--home", str(home.root), "generate", "confirmation", "--household", head_id)
    assert result.exit_code != 0
    assert str(path) in result.stderr and "第6行" in result.stderr and "head_nmae" in result.stderr


def test_unknown_set_field_lists_the_known_ones(home, head_id):
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id,
                     "--set", "reason=x", "--set", "reasn=y")
    assert result.exit_code != 0 and "reasn" in result.stderr and "reason（不予批准的理由）" in result.stderr


def test_township_override_changes_wording_without_code(home, head_id):
    source = (builtin_templates_dir() / "refusal.yaml").read_text(encoding="utf-8")
    _override(home, "refusal", source.replace("特此告知。", "特此告知，请妥善保管本告知书。"))
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id,
                     "--set", "reason=收入超标", "--json")
    assert result.exit_code == 0, result.stderr
    import json

    from tests.helpers import pdf_text
    assert "请妥善保管本告知书" in re.sub(r"\s+", "", pdf_text(json.loads(result.stdout)["pdf"]))


def test_public_template_cannot_print_full_ids(home, township):
    """A township that edits the publicity sheet to print ID numbers is stopped: the template
    gets masked IDs at most, and a full number in the output is refused."""
    import datetime as dt

    from archive.documents.generate import Generator

    source = (builtin_templates_dir() / "publicity.yaml").read_text(encoding="utf-8")
    leaky = source.replace('value: "{{ item.head_name }}"', 'value: "{{ item.head_name }}{{ item.id_number }}"')
    _override(home, "publicity", leaky)
    village = township[0].village
    with pytest.raises(TemplateError, match="id_number"):
        Generator(home).publicity(village, dt.date(2010, 1, 1), dt.date(2025, 7, 31), dt.date(2025, 7, 31))
    masked = source.replace("\npublic: true\n", "\npublic: true\nmask_id: true\n").replace(
        'value: "{{ item.head_name }}"', 'value: "{{ item.head_name }} {{ item.masked_id }}"')
    _override(home, "publicity", masked)
    result = Generator(home).publicity(village, dt.date(2010, 1, 1), dt.date(2025, 7, 31), dt.date(2025, 7, 31))
    from tests.helpers import pdf_text
    assert re.search(r"520111\*{8}\d{3}[\dX]", re.sub(r"\s+", "", pdf_text(result.pdf)))


def test_templates_check_command(home, tmp_path):
    good = tmp_path / "refusal.yaml"
    shutil.copy(builtin_templates_dir() / "refusal.yaml", good)
    assert run_cli("templates", "check", str(good)).exit_code == 0
    bad = tmp_path / "approval.yaml"
    bad.write_text("id: approval\ntitle: x\nscope: nowhere\nbody: []\n", encoding="utf-8")
    result = run_cli("templates", "check", str(bad))
    assert result.exit_code != 0 and "第3行" in result.stderr and "scope" in result.stderr


def test_condition_on_unknown_field_names_its_line(home, head_id):
    path = _override(home, "confirmation", "id: confirmation\ntitle: 通知\nscope: household\nbody:\n  - title: 通知\n"
                                           "  - paragraph: 正文\n    if: no_such_field\n")
    result = run_cli("--home", str(home.root), "generate", "confirmation", "--household", head_id)
    assert result.exit_code != 0 and str(path) in result.stderr and "no_such_field" in result.stderr
    assert re.search(r"第[67]行", result.stderr)
