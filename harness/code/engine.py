"""Parse each unit once, collect facts, run every enabled rule in one batched traversal.

The traversal is a plain loop over node fields: it never rebuilds nodes (libcst's own
`visit` does) and skips whitespace and punctuation. Positions are computed afterwards and
only for reported nodes: Python's own parser gives the start line of the innermost statement
holding each of them, and a code generation that tracks only lines and columns runs over that
statement alone, stopping at the reported node (see `resolve_positions`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import typing
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

from harness.code import facts as facts_mod
from harness.code.context import UnitContext, holder
from harness.code.guard import CheckProblem, Limits, precheck, time_limit
from harness.code.names import SCOPE_NODES, comprehension_scope
from harness.code.positions import resolve_positions
from harness.code.project import ProjectIndex, module_path
from harness.code.provides import Offer, offers
from harness.code.rule import CodeRule
from harness.code.suppress import is_suppressed
from harness.code.tree import KINDS, NODE, SEQUENCE, TRIVIA, child_fields, kind_of
from harness.code.unit import CodeUnit
from harness.config import RulesConfig
from harness.findings import Finding, Severity
from harness.registry import all_rules
from harness.registry import select as select_rules

Status = Literal["ok", "parse-error", "check-error"]


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
    problem: str | None = None  # why the unit could not be checked (`check-error`)
    offers: tuple[Offer, ...] = ()  # what the unit provides (task conformance)


def walk(module: cst.Module, ctx: UnitContext, visits: dict[type, list], leaves: dict) -> None:
    stack = ctx.stack
    pending = ctx.pending
    fields_of = child_fields
    kinds = KINDS

    def visit(node: cst.CSTNode) -> None:
        cls = type(node)
        stack.append(node)
        if pending:
            reps = pending.pop(id(node), None)
            if reps:
                held_by = holder(stack, len(stack) - 1)
                for rep in reps:
                    rep.holder = held_by
        for fn in visits.get(cls, ()):
            fn(node)
        for name in fields_of(cls):
            value = getattr(node, name)
            kind = kinds.get(type(value))
            if kind is None:
                kind = kind_of(type(value))
            if kind == NODE:
                visit(value)
            elif kind == SEQUENCE:
                for item in value:
                    kind = kinds.get(type(item))
                    if kind is None:
                        kind = kind_of(type(item))
                    if kind == NODE:
                        visit(item)
        for fn in leaves.get(cls, ()):
            fn(node)
        stack.pop()

    visit(module)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The enabled code rules and their dispatch tables, built once per run."""

    rules: tuple[type[CodeRule], ...]
    settings: RulesConfig = field(default_factory=RulesConfig)

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(s.max_unit_chars, s.max_depth, s.unit_timeout, s.max_line_chars)

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
            for attr, node_cls, is_visit in _hooks(type(rule)):
                table = visits if is_visit else leaves
                table.setdefault(node_cls, []).append(getattr(rule, attr))
        return active, visits, leaves


_HOOKS: dict[type, tuple[tuple[str, type, bool], ...]] = {}


def _hooks(rule_cls: type[CodeRule]) -> tuple[tuple[str, type, bool], ...]:
    """(method name, node class, is a visit) of a rule class, found once (`dir` is slow)."""
    hooks = _HOOKS.get(rule_cls)
    if hooks is None:
        found = []
        for attr in dir(rule_cls):
            if attr.startswith("visit_") or attr.startswith("leave_"):
                node_cls = getattr(cst, attr[6:], None)
                if node_cls is None:
                    raise TypeError(f"{rule_cls.code}: {attr} names no libcst node")
                if node_cls not in visitable_nodes():
                    raise TypeError(
                        f"{rule_cls.code}: {attr} never fires: the walk skips"
                        f" {node_cls.__name__} (whitespace, punctuation and operators)"
                    )
                found.append((attr, node_cls, attr[0] == "v"))
        hooks = _HOOKS[rule_cls] = tuple(found)
    return hooks


_VISITABLE: list[frozenset[type]] = []


def _node_types(annotation: object) -> Iterator[type]:
    """The CSTNode classes named in a field annotation (through unions and sequences)."""
    args = typing.get_args(annotation)
    if not args:
        if isinstance(annotation, type) and issubclass(annotation, cst.CSTNode):
            yield annotation
        return
    for arg in args:
        yield from _node_types(arg)


def visitable_nodes() -> frozenset[type]:
    """The concrete node classes `walk` can reach from a Module through the fields it reads.

    Found from libcst's field annotations, so a hook on a node kept only in a skipped field
    (`operator`, `equal`, `comma`, ...) or on trivia (`Comment`) is refused, not silent.
    """
    if not _VISITABLE:
        nodes = [
            v for v in vars(cst).values() if isinstance(v, type) and issubclass(v, cst.CSTNode)
        ]
        concrete = [
            c
            for c in nodes
            if dataclasses.is_dataclass(c)
            and not inspect.isabstract(c)
            and not issubclass(c, TRIVIA)
        ]
        seen: set[type] = {cst.Module}
        todo: list[type] = [cst.Module]
        while todo:
            cls = todo.pop()
            hints = typing.get_type_hints(cls)
            for name in child_fields(cls):
                for held in _node_types(hints[name]):
                    for sub in concrete:
                        if sub not in seen and issubclass(sub, held):
                            seen.add(sub)
                            todo.append(sub)
        _VISITABLE.append(frozenset(seen))
    return _VISITABLE[0]


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


def check_module(
    module: cst.Module,
    unit: CodeUnit,
    ruleset: RuleSet,
    *,
    tree: ast.Module | None = None,
    facts: facts_mod.Facts | None = None,
) -> CheckResult:
    """Facts, the batched walk and positions for a parsed unit. `tree` is Python's syntax
    tree of the same source, when the caller has it (it saves parsing it again); `facts` are
    the unit's facts in its project, when it is part of one."""
    if facts is None:
        package = module_path(unit.path).package
        facts = facts_mod.collect(module, role=unit.role, path=unit.path, package=package)
    ctx = UnitContext(facts=facts, settings=ruleset.settings)
    active, visits, leaves = ruleset.instantiate(ctx)
    if visits or leaves:
        scopes = ScopeKeeper(facts)
        for node_cls in SCOPE_NODES:
            visits[node_cls] = [scopes.enter, *visits.get(node_cls, ())]
            leaves[node_cls] = [*leaves.get(node_cls, ()), scopes.leave]
        walk(module, ctx, visits, leaves)
    # A rule applies where it checked a subject (or reported something).
    reported = {rep.rule.code for rep in ctx.reports}
    applicable = tuple(r.code for r in active if r.code in ctx.sites or r.code in reported)
    provided = offers(facts)
    if not ctx.reports:
        return CheckResult(unit, "ok", (), applicable, offers=provided)
    positions = resolve_positions(
        module, ((r.node, r.holder) for r in ctx.reports), unit.source, tree=tree
    )
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
        if is_suppressed(text, rep.rule.code):
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
    return CheckResult(
        unit, "ok", tuple(findings), applicable, suppressed=suppressed, offers=provided
    )


@dataclass(slots=True)
class ScopeKeeper:
    """Keeps `facts.scopes` to the scopes enclosing the node being visited."""

    facts: facts_mod.Facts

    def enter(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.FunctionDef | cst.Lambda):
            scope = self.facts.scope_of(node)
        else:
            scope = comprehension_scope(node)  # type: ignore[arg-type]
        self.facts.scopes.append(scope)

    def leave(self, node: cst.CSTNode) -> None:
        self.facts.scopes.pop()


@dataclass(frozen=True, slots=True)
class _Parsed:
    module: cst.Module
    tree: ast.Module | None


def _guarded(unit: CodeUnit, fn: Callable[[], CheckResult | _Parsed]) -> CheckResult | _Parsed:
    """`fn()`, with every failure of the checker turned into a `check-error` of `unit`."""
    try:
        return fn()
    except CheckProblem as exc:
        return CheckResult(unit, "check-error", problem=str(exc))
    except RecursionError:
        return CheckResult(unit, "check-error", problem="nested too deeply to check (recursion)")
    except MemoryError:
        return CheckResult(unit, "check-error", problem="out of memory while checking")
    except Exception as exc:  # a checker bug must not end the run
        return CheckResult(unit, "check-error", problem=f"checker failed: {type(exc).__name__}")


def _parse_unit(unit: CodeUnit, limits: Limits) -> CheckResult | _Parsed:
    pre = precheck(unit.source, limits)
    if pre.unsafe and pre.syntax_error is not None:  # too deep to give libcst
        exc = pre.syntax_error
        failure = ParseFailure(exc.msg, exc.lineno or 1, max(exc.offset or 1, 1))
        return CheckResult(unit, "parse-error", parse_error=failure)
    with time_limit(limits.timeout):
        module = parse(unit)
    if isinstance(module, ParseFailure):
        return CheckResult(unit, "parse-error", parse_error=module)
    return _Parsed(module, pre.tree)


def check_unit(unit: CodeUnit, ruleset: RuleSet | None = None) -> CheckResult:
    """Parse once and run every enabled rule, under the ruleset's limits. Never raises: a
    unit that breaks a limit, or that the checker fails on, is a `check-error`."""
    return check_units([unit], ruleset)[0]


def check_units(
    units: Sequence[CodeUnit],
    ruleset: RuleSet | None = None,
    *,
    names: Sequence[str] | None = None,
) -> list[CheckResult]:
    """Check units that form one project (the files of a directory, the blocks of a reply):
    each unit's names resolve into the others. `names` are the paths module names come from
    (default: the units' paths). Never raises; each unit is under the ruleset's limits."""
    rs = ruleset or default_ruleset()
    limits = rs.limits
    parsed = [_guarded(u, functools.partial(_parse_unit, u, limits)) for u in units]
    ok = [(i, p) for i, p in enumerate(parsed) if isinstance(p, _Parsed)]
    facts: dict[int, facts_mod.Facts] = {}
    if len(units) > 1 and ok:
        project = ProjectIndex(
            [(units[i], p.module) for i, p in ok],
            [names[i] for i, _ in ok] if names is not None else None,
        )
        for k, (i, _) in enumerate(ok):
            built = _guarded(units[i], functools.partial(_project_facts, project, k, limits))
            if isinstance(built, CheckResult):
                parsed[i] = built
            else:
                facts[i] = project.facts(k)  # type: ignore[assignment]
        project.finish()
    out: list[CheckResult] = []
    for i, (unit, p) in enumerate(zip(units, parsed, strict=True)):
        if isinstance(p, _Parsed):
            run = functools.partial(_check_parsed, p, unit, rs, facts.get(i))
            p = _guarded(unit, run)
        out.append(p)  # type: ignore[arg-type]
    return out


def _project_facts(project: ProjectIndex, k: int, limits: Limits) -> _Parsed:
    with time_limit(limits.timeout):
        project.facts(k)
    return _Parsed(cst.Module([]), None)


def _check_parsed(
    p: _Parsed, unit: CodeUnit, ruleset: RuleSet, facts: facts_mod.Facts | None
) -> CheckResult:
    with time_limit(ruleset.limits.timeout):
        return check_module(p.module, unit, ruleset, tree=p.tree, facts=facts)


_DEFAULT: list[RuleSet] = []


def default_ruleset() -> RuleSet:
    if not _DEFAULT:
        _DEFAULT.append(RuleSet.build())
    return _DEFAULT[0]
