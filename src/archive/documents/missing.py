"""An office setting left empty in config.yaml, as a template sees it.

False in a test, so an optional sentence can be left out cleanly (`if: office_phone`); an error
naming the setting when a template prints it, so a notice never reads 「监督举报电话：。」."""

from __future__ import annotations

from pathlib import Path

from archive.errors import ConfigError


class MissingSettingError(ConfigError):
    def __init__(self, key: str, label: str, where: Path | None = None) -> None:
        # the file itself when known: on a county home each township has its own config.yaml
        super().__init__(
            f"文书要印出{label}，但 config.yaml 中的 {key} 没有设置",
            hint=f"请在{f' {where} ' if where else '档案库的 config.yaml '}中填写 {key}（{label}）后重新生成")
        self.key = key


class MissingSetting(str):
    key: str
    label: str
    where: Path | None

    def __new__(cls, key: str, label: str, where: Path | None = None) -> MissingSetting:
        value = super().__new__(cls, "")
        value.key, value.label, value.where = key, label, where
        return value

    def fail(self):
        raise MissingSettingError(self.key, self.label, self.where)

    def __str__(self) -> str:
        self.fail()

    def __format__(self, spec: str) -> str:
        self.fail()

    def __float__(self) -> float:
        self.fail()

    def _arithmetic(self, *_: object) -> MissingSetting:
        self.fail()

    # 「{{ dibao_standard * 6 }}」 is not an empty string six times
    __mul__ = __rmul__ = __add__ = __radd__ = __sub__ = __rsub__ = __truediv__ = __mod__ = _arithmetic


def setting(value: object, key: str, label: str, where: Path | None = None) -> object:
    """The setting's value, or a MissingSetting when it is empty (`where`: the config.yaml)."""
    return MissingSetting(key, label, where) if value is None or value == "" else value
