"""The one registry of rule codes, for template rules (TPL) and code rules (EXC, PYD, ...).

A code is written once, as the `code` attribute of its rule class. Everything else looks it up
here. Rule modules are discovered by walking the rule packages.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

from harness.findings import Severity

RULE_PACKAGES = ("harness.templates.lint.rules", "harness.code.rules")
CODE_RE = re.compile(r"^[A-Z]{3}\d{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")


@dataclass(frozen=True, slots=True)
class Example:
    """A rule example. For `invalid`, `line` is where the finding must be reported.

    `code` may be an indented triple-quoted block: a first empty line is dropped and the
    rest dedented, so line 1 is the block's first line.
    """

    code: str
    line: int | None = None
    role: str | None = None
    count: int | None = None  # exact number of findings expected, when given

    def __post_init__(self) -> None:
        code = self.code.removeprefix("\n")
        object.__setattr__(self, "code", textwrap.dedent(code))


class Valid(Example):
    """Code the rule must stay quiet on."""

    __slots__ = ()


class Invalid(Example):
    """Code the rule must report (at `line`, `count` times, when given)."""

    __slots__ = ()


class RuleBase:
    """Attributes every rule declares. Subclasses add how they check."""

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    family: ClassVar[str] = ""
    valid: ClassVar[tuple[Example | str, ...]] = ()
    invalid: ClassVar[tuple[Example | str, ...]] = ()

    @classmethod
    def docs(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.message


class RegistryError(Exception):
    pass


TEMPLATE_RULES = "harness.templates.lint.rules"


def _iter_rule_classes(packages: tuple[str, ...] = RULE_PACKAGES) -> list[type[RuleBase]]:
    found: list[type[RuleBase]] = []
    for package_name in packages:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if info.ispkg:
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, RuleBase)
                    and value.__module__ == module.__name__
                    and "code" in vars(value)
                ):
                    found.append(value)
    return found


@cache
def all_rules(package: str | None = None) -> dict[str, type[RuleBase]]:
    """Every rule, by code, in code order. Raises RegistryError on a duplicate code.

    `package` limits discovery to one rule package (e.g. `TEMPLATE_RULES`), so `harness lint`
    never imports the code rules and libcst.
    """
    rules: dict[str, type[RuleBase]] = {}
    for rule in _iter_rule_classes((package,) if package else RULE_PACKAGES):
        if not CODE_RE.match(rule.code):
            raise RegistryError(f"{rule.__qualname__}: bad code {rule.code!r}")
        if not NAME_RE.match(rule.name):
            raise RegistryError(f"{rule.code}: name {rule.name!r} is not kebab-case")
        if rule.code in rules:
            other = rules[rule.code]
            raise RegistryError(f"{rule.code} declared by {other.__qualname__} and {rule.__name__}")
        rules[rule.code] = rule
    names = [r.name for r in rules.values()]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RegistryError(f"duplicate rule names: {sorted(dup)}")
    return dict(sorted(rules.items()))


def get(code: str) -> type[RuleBase]:
    rules = all_rules()
    try:
        return rules[code.upper()]
    except KeyError:
        raise KeyError(code) from None


def by_name_or_code(key: str) -> type[RuleBase] | None:
    rules = all_rules()
    if key.upper() in rules:
        return rules[key.upper()]
    return next((r for r in rules.values() if r.name == key), None)


def select(
    codes: dict[str, type[RuleBase]],
    select: list[str] | None = None,
    ignore: list[str] | None = None,
) -> dict[str, type[RuleBase]]:
    """Filter by code prefixes (`EXC`, `PYD001`) or names, like ruff's --select/--ignore."""

    def hit(code: str, rule: type[RuleBase], keys: list[str]) -> bool:
        return any(code.startswith(k.upper()) or rule.name == k for k in keys)

    out = {c: r for c, r in codes.items() if not select or hit(c, r, select)}
    return {c: r for c, r in out.items() if not ignore or not hit(c, r, ignore)}
