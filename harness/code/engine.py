"""Parse each unit once, collect facts, run every enabled rule in one batched traversal.

The traversal is a plain loop over node fields: it never rebuilds nodes (libcst's own
`visit` does) and skips whitespace and punctuation. Positions are computed afterwards and
only for reported nodes, by one code-generation pass that stops at the last of them.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata.position_provider import NEWLINE_RE, PositionProvidingCodegenState

from harness.code import facts as facts_mod
from harness.code.facts import Facts
from harness.code.rule import CodeRule
from harness.code.unit import CodeUnit
from harness.config import RulesConfig
from harness.findings import Finding, Severity
from harness.registry import all_rules
from harness.registry import select as select_rules

Status = Literal["ok", "parse-error"]
SUPPRESS_RE = re.compile(r"#\s*harness:\s*ignore(?:\[([A-Za-z0-9_,:\s-]+)\])?")

_SKIP_FIELDS = frozenset(
    {
        "whitespace_before",
        "whitespace_after",
        "whitespace_before_colon",
        "whitespace_after_colon",
        "whitespace_before_params",
        "whitespace_after_def",
        "whitespace_after_async",
        "whitespace_after_class",
        "whitespace_after_at",
        "whitespace_after_await",
        "whitespace_after_star",
        "whitespace_after_arg",
        "whitespace_after_param",
        "whitespace_after_from",
        "whitespace_after_import",
        "whitespace_after_cases",
        "whitespace_after_in",
        "whitespace_after_for",
        "whitespace_after_while",
        "whitespace_after_with",
        "whitespace_after_except",
        "whitespace_after_if",
        "whitespace_after_lambda",
        "whitespace_after_return",
        "whitespace_after_match",
        "whitespace_after_case",
        "whitespace_after_global",
        "whitespace_after_nonlocal",
        "whitespace_after_raise",
        "whitespace_after_yield",
        "whitespace_after_del",
        "whitespace_after_assert",
        "whitespace_after_type",
        "whitespace_after_name",
        "whitespace_after_equal",
        "whitespace_before_equal",
        "whitespace_after_kwds",
        "whitespace_after_indicator",
        "whitespace_before_indicator",
        "whitespace_before_expression",
        "whitespace_before_in",
        "whitespace_before_if",
        "whitespace_before_else",
        "whitespace_before_from",
        "whitespace_before_as",
        "whitespace_before_args",
        "whitespace",
        "lpar",
        "rpar",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "trailing_whitespace",
        "comma",
        "semicolon",
        "colon",
        "equal",
        "dot",
        "star",
        "star_arg",
        "operator",
        "asynchronous",
        "newline",
        "indent",
        "first_line",
        "empty_lines",
        "last_line",
    }
)
_TRIVIA = (
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Comment,
    cst.Newline,
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in _SKIP_FIELDS  # type: ignore[arg-type]
        )
        _FIELDS[cls] = names
    return names


@dataclass(frozen=True, slots=True)
class ParseFailure:
    message: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What the engine says about one unit."""

    unit: CodeUnit
    status: Status
    findings: tuple[Finding, ...] = ()
    applicable: tuple[str, ...] = ()  # codes of the rules that applied to this unit
    parse_error: ParseFailure | None = None
    suppressed: int = 0


@dataclass(slots=True)
class _Report:
    rule: CodeRule
    node: cst.CSTNode
    message: str
    top: cst.CSTNode | None  # the top-level statement holding `node`


@dataclass(slots=True)
class UnitContext:
    """Per-unit state shared by the rules during the pass."""

    facts: Facts
    settings: RulesConfig = field(default_factory=RulesConfig)
    stack: list[cst.CSTNode] = field(default_factory=list)
    reports: list[_Report] = field(default_factory=list)

    def report(self, rule: CodeRule, node: cst.CSTNode, message: str) -> None:
        top = self.stack[1] if len(self.stack) > 1 else None
        self.reports.append(_Report(rule, node, message, top))


class _StopCodegen(Exception):
    pass


class _TargetPositions(dict):  # type: ignore[type-arg]
    """Position store for the codegen pass; stops it once every target is positioned."""

    def __init__(self, targets: set[int]) -> None:
        super().__init__()
        self.targets = targets
        self.found: dict[int, cst.metadata.CodeRange] = {}

    def __setitem__(self, node: cst.CSTNode, rng: cst.metadata.CodeRange) -> None:
        super().__setitem__(node, rng)
        key = id(node)
        if key in self.targets and key not in self.found:
            self.found[key] = rng
            if len(self.found) == len(self.targets):
                raise _StopCodegen


class _Provider:
    def __init__(self, targets: set[int]) -> None:
        self._computed = _TargetPositions(targets)


def _positioned(
    node: cst.CSTNode, module: cst.Module, targets: set[int], line: int
) -> dict[int, cst.metadata.CodeRange]:
    provider = _Provider(targets)
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=provider,  # type: ignore[arg-type]
    )
    state.line = line
    try:
        node._codegen(state)
    except _StopCodegen:
        pass
    except KeyError:
        # Stopping inside a node whose range ends at a later child makes libcst's cleanup
        # look that child up and raise KeyError; harmless once every target is positioned.
        if len(provider._computed.found) < len(provider._computed.targets):
            raise
    return provider._computed.found


def _line_count(nodes: Iterable[cst.CSTNode], module: cst.Module) -> int:
    """Newlines that plain code generation of `nodes` emits (no position tracking)."""
    state = CodegenState(module.default_indent, module.default_newline)
    for node in nodes:
        node._codegen(state)
    return len(NEWLINE_RE.findall("".join(state.tokens)))


def resolve_positions(
    module: cst.Module, reports: Iterable[tuple[cst.CSTNode, cst.CSTNode | None]]
) -> dict[int, cst.metadata.CodeRange]:
    """Positions (by node id) of the reported nodes only.

    `reports` pairs each node with the top-level statement that holds it. Statements before
    a reported one are only counted for newlines (plain codegen); position tracking, which
    costs about twice as much, runs only over the statements that hold reported nodes.
    """
    by_top: dict[int, set[int]] = {}
    for node, top in reports:
        by_top.setdefault(-1 if top is None else id(top), set()).add(id(node))
    if -1 in by_top:
        return _positioned(module, module, set().union(*by_top.values()), 1)
    found: dict[int, cst.metadata.CodeRange] = {}
    line = 1 + _line_count(module.header, module)
    remaining = len(by_top)
    for stmt in module.body:
        targets = by_top.get(id(stmt))
        if targets is not None:
            found.update(_positioned(stmt, module, targets, line))
            remaining -= 1
            if not remaining:
                break
        line += _line_count((stmt,), module)
    missing = set().union(*by_top.values()) - found.keys()
    if missing:  # a rule reported a node outside the statement it was visiting
        found.update(_positioned(module, module, missing, 1))
    return found


def _walk(module: cst.Module, ctx: UnitContext, visits: dict[type, list], leaves: dict) -> None:
    stack = ctx.stack
    trivia = _TRIVIA
    fields_of = _child_fields

    def walk(node: cst.CSTNode) -> None:
        cls = type(node)
        stack.append(node)
        for fn in visits.get(cls, ()):
            fn(node)
        for name in fields_of(cls):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                if not isinstance(value, trivia):
                    walk(value)
            elif isinstance(value, tuple | list):
                for item in value:
                    if isinstance(item, cst.CSTNode) and not isinstance(item, trivia):
                        walk(item)
        for fn in leaves.get(cls, ()):
            fn(node)
        stack.pop()

    walk(module)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The enabled code rules and their dispatch tables, built once per run."""

    rules: tuple[type[CodeRule], ...]
    settings: RulesConfig = field(default_factory=RulesConfig)

    @classmethod
    def build(
        cls,
        select: list[str] | None = None,
        ignore: list[str] | None = None,
        settings: RulesConfig | None = None,
    ) -> RuleSet:
        code_rules = {c: r for c, r in all_rules().items() if issubclass(r, CodeRule)}
        chosen = select_rules(code_rules, select, ignore)
        return cls(tuple(chosen.values()), settings or RulesConfig())  # type: ignore[arg-type]

    def instantiate(
        self, ctx: UnitContext
    ) -> tuple[list[CodeRule], dict[type, list[Callable]], dict[type, list[Callable]]]:
        active = [r(ctx) for r in self.rules if r.applies_to(ctx.facts)]
        visits: dict[type, list[Callable]] = {}
        leaves: dict[type, list[Callable]] = {}
        for rule in active:
            for attr in dir(type(rule)):
                if attr.startswith("visit_") or attr.startswith("leave_"):
                    node_cls = getattr(cst, attr[6:], None)
                    if node_cls is None:
                        raise TypeError(f"{rule.code}: {attr} names no libcst node")
                    table = visits if attr[0] == "v" else leaves
                    table.setdefault(node_cls, []).append(getattr(rule, attr))
        return active, visits, leaves


def _suppressed(line_text: str, code: str) -> bool:
    for match in SUPPRESS_RE.finditer(line_text):
        codes = match.group(1)
        if codes is None:
            return True
        if code in {c.strip().upper() for c in codes.split(",")}:
            return True
    return False


def parse(unit: CodeUnit) -> cst.Module | ParseFailure:
    try:
        return cst.parse_module(unit.source)
    except cst.ParserSyntaxError as exc:
        return _python_syntax_error(unit.source) or ParseFailure(
            exc.message, exc.raw_line, exc.raw_column + 1
        )
    except (RecursionError, ValueError, MemoryError) as exc:
        return ParseFailure(f"cannot parse: {type(exc).__name__}", 1, 1)


def _python_syntax_error(source: str) -> ParseFailure | None:
    """Python's own message and position, which are more precise than libcst's."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<unit>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        return ParseFailure(exc.msg, exc.lineno or 1, max(exc.offset or 1, 1))
    except (ValueError, RecursionError, MemoryError, OverflowError):
        return None
    return None


def check_module(module: cst.Module, unit: CodeUnit, ruleset: RuleSet) -> CheckResult:
    facts = facts_mod.collect(module, role=unit.role, path=unit.path)
    ctx = UnitContext(facts=facts, settings=ruleset.settings)
    active, visits, leaves = ruleset.instantiate(ctx)
    if visits or leaves:
        _walk(module, ctx, visits, leaves)
    applicable = tuple(r.code for r in active)
    if not ctx.reports:
        return CheckResult(unit, "ok", (), applicable)
    positions = resolve_positions(module, ((r.node, r.top) for r in ctx.reports))
    lines = unit.source.splitlines()
    findings: list[Finding] = []
    seen: set[tuple[str, int, int]] = set()
    suppressed = 0
    for rep in ctx.reports:
        rng = positions.get(id(rep.node))
        if rng is None:  # pragma: no cover - every reported node is in the module
            continue
        line, col = rng.start.line, rng.start.column + 1
        key = (rep.rule.code, line, col)
        if key in seen:
            continue
        seen.add(key)
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if "harness" in text and _suppressed(text, rep.rule.code):
            suppressed += 1
            continue
        findings.append(
            Finding(
                code=rep.rule.code,
                name=rep.rule.name,
                message=rep.message,
                line=line,
                col=col,
                end_line=rng.end.line,
                end_col=rng.end.column + 1,
                severity=Severity(rep.rule.severity),
                path=unit.path,
            )
        )
    findings.sort(key=lambda f: (f.line, f.col, f.code))
    return CheckResult(unit, "ok", tuple(findings), applicable, suppressed=suppressed)


def check_unit(unit: CodeUnit, ruleset: RuleSet | None = None) -> CheckResult:
    """Parse once and run every enabled rule. Never raises on bad source."""
    module = parse(unit)
    if isinstance(module, ParseFailure):
        return CheckResult(unit, "parse-error", parse_error=module)
    return check_module(module, unit, ruleset or default_ruleset())


def check_units(units: Sequence[CodeUnit], ruleset: RuleSet | None = None) -> list[CheckResult]:
    rs = ruleset or default_ruleset()
    return [check_unit(u, rs) for u in units]


_DEFAULT: list[RuleSet] = []


def default_ruleset() -> RuleSet:
    if not _DEFAULT:
        _DEFAULT.append(RuleSet.build())
    return _DEFAULT[0]
