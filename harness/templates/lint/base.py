"""Base class for template rules and the per-template context they share.

A rule is one small class per file under `harness/templates/lint/rules/`. It implements
`check()` and calls `self.report(key=...)` (a dotted spec key such as `cases.1.vars`) or
`self.report(line=...)` (a line in the template file). The context parses and renders each
template once, lazily, for every rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.exceptions import TemplateAssertionError

from harness.errors import RenderError
from harness.findings import Finding
from harness.registry import RuleBase
from harness.templates import render as render_mod
from harness.templates.render import RenderedPrompt
from harness.templates.spec import Case, TemplateSpec


@dataclass(frozen=True, slots=True)
class LintSettings:
    """What template rules may read from the config."""

    token_budget: int = 6000
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSource:
    """One Jinja field of a spec (`system` or `template`), parsed once."""

    field: str
    source: str
    ast: nodes.Template | None
    syntax_error: TemplateSyntaxError | None
    first_line: int  # file line of the field's first text line
    first_col: int

    def file_line(self, rel_line: int) -> int:
        return self.first_line + max(rel_line, 1) - 1

    @cached_property
    def source_lines(self) -> list[str]:
        return self.source.splitlines()


def undeclared_names(ast: nodes.Template) -> frozenset[str]:
    """Names a template reads from its context (loop and `set` variables excluded)."""
    try:
        return frozenset(meta.find_undeclared_variables(ast))
    except TemplateAssertionError:  # unknown filter or test: fall back to a plain walk
        stored = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
        loaded = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
        return frozenset(loaded - stored - {"loop", "self", "super", "caller", "varargs", "kwargs"})


@dataclass(frozen=True, slots=True)
class CaseRender:
    case: Case
    index: int
    prompt: RenderedPrompt | None
    error: RenderError | None


class LintContext:
    """A spec plus its parsed fields and rendered cases, computed on first use."""

    def __init__(self, spec: TemplateSpec, settings: LintSettings) -> None:
        self.spec = spec
        self.settings = settings

    @cached_property
    def fields(self) -> tuple[FieldSource, ...]:
        out = []
        for name, _role in render_mod.PROMPT_FIELDS:
            source = getattr(self.spec, name)
            if source is None:
                continue
            line, col = render_mod.field_position(self.spec, name)
            try:
                ast, error = render_mod.parse_source(source), None
            except TemplateSyntaxError as exc:
                ast, error = None, exc
            out.append(FieldSource(name, source, ast, error, line, col))
        return tuple(out)

    @property
    def parses(self) -> bool:
        return all(f.ast is not None for f in self.fields)

    @cached_property
    def used_names(self) -> frozenset[str]:
        """Names the fields read from the context (declared or not)."""
        names: set[str] = set()
        for f in self.fields:
            if f.ast is not None:
                names |= undeclared_names(f.ast)
        return frozenset(names)

    @cached_property
    def required(self) -> frozenset[str]:
        """Declared variables that a case must set: required and without a default."""
        return frozenset(
            name
            for name, var in self.spec.variables.items()
            if var.required and var.default is None
        )

    def missing_in(self, case: Case) -> list[str]:
        return sorted(self.required - set(case.vars))

    @cached_property
    def renders(self) -> tuple[CaseRender, ...]:
        out = []
        for i, case in enumerate(self.spec.cases):
            try:
                out.append(CaseRender(case, i, render_mod.render(self.spec, case), None))
            except RenderError as exc:
                out.append(CaseRender(case, i, None, exc))
        return tuple(out)

    @property
    def rendered(self) -> list[CaseRender]:
        """Cases that rendered."""
        return [r for r in self.renders if r.prompt is not None]


class TemplateRule(RuleBase):
    """A check over one loaded template."""

    family: ClassVar[str] = "TPL"

    def __init__(self, ctx: LintContext) -> None:
        self.ctx = ctx
        self.spec = ctx.spec
        self.settings = ctx.settings
        self.findings: list[Finding] = []

    def check(self) -> None:
        raise NotImplementedError

    def report(
        self,
        *,
        key: str = "",
        line: int | None = None,
        col: int | None = None,
        message: str | None = None,
    ) -> None:
        """Report at a dotted spec key, or at an explicit file line (and column)."""
        if line is None:
            line, key_col = self.spec.line_of(key) if key else (1, 1)
            col = col or key_col
        col = col or 1
        self.findings.append(
            Finding(
                code=self.code,
                name=self.name,
                message=message or self.message,
                line=line,
                col=col,
                end_line=line,
                end_col=col,
                severity=self.severity,
                path=self.spec.path,
            )
        )
