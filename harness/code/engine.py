"""Parse each unit once, collect facts, run every enabled rule in one batched traversal.

The traversal is a plain loop over node fields: it never rebuilds nodes (libcst's own
`visit` does) and skips whitespace and punctuation. Positions are computed afterwards and
only for reported nodes: Python's own parser gives the start line of the innermost statement
holding each of them, and a code generation that tracks only lines and columns runs over that
statement alone, stopping at the reported node (see `resolve_positions`).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst._position import CodePosition, CodeRange
from libcst.metadata import MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import NEWLINE_RE

from harness.code import facts as facts_mod
from harness.code.facts import Facts
from harness.code.rule import CodeRule
from harness.code.suppress import is_suppressed
from harness.code.unit import CodeUnit
from harness.config import RulesConfig
from harness.findings import Finding, Severity
from harness.registry import all_rules
from harness.registry import select as select_rules

Status = Literal["ok", "parse-error"]

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
# Nodes whose start line Python's parser gives: where position resolution can start.
_HOLDERS = (
    cst.SimpleStatementLine,
    cst.BaseCompoundStatement,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
)


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
    holder: cst.CSTNode | None  # the innermost statement or except clause holding `node`


@dataclass(slots=True)
class UnitContext:
    """Per-unit state shared by the rules during the pass."""

    facts: Facts
    settings: RulesConfig = field(default_factory=RulesConfig)
    stack: list[cst.CSTNode] = field(default_factory=list)
    reports: list[_Report] = field(default_factory=list)
    # Reports of nodes the walk has not reached yet: it sets their holder when it does.
    pending: dict[int, list[_Report]] = field(default_factory=dict)

    def report(self, rule: CodeRule, node: cst.CSTNode, message: str) -> None:
        stack = self.stack
        i = len(stack) - 1
        while i >= 0 and stack[i] is not node:  # a rule may report an enclosing node
            i -= 1
        rep = _Report(rule, node, message, _holder(stack, len(stack) - 1 if i < 0 else i))
        self.reports.append(rep)
        if i < 0:  # usually a descendant of the visited node
            self.pending.setdefault(id(node), []).append(rep)


def _holder(stack: list[cst.CSTNode], i: int) -> cst.CSTNode | None:
    """The innermost statement or except clause in `stack[1 : i + 1]`."""
    while i > 0:
        if isinstance(stack[i], _HOLDERS):
            return stack[i]
        i -= 1
    return None


class _Stop(Exception):
    """Ends a code-generation pass once every target is positioned."""


_Pos = tuple[int, int]  # (line, column) relative to the pass's own line base


class _NoRecord:
    """Shared context for nodes whose range nobody needs."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_RECORD = _NoRecord()


class _Record:
    """libcst's syntactic range of one needed node, with start/end hoisted from children."""

    __slots__ = ("end_key", "key", "start", "start_key", "state")

    def __init__(self, state: _LineColState, key: int, start_key: int, end_key: int) -> None:
        self.state = state
        self.key = key
        self.start_key = start_key
        self.end_key = end_key

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:  # stopping: leave the ranges of enclosing nodes unset
            return
        state = self.state
        found = state.found
        start = found[self.start_key][0] if self.start_key else self.start
        end = found[self.end_key][1] if self.end_key else (state.line, state.column)
        first = self.key not in found
        found[self.key] = (start, end)  # like libcst: a syntactic range always wins
        if first:
            state.positioned(self.key)


class _LineColState(CodegenState):
    """Code generation that only tracks line and column, and records only needed ranges.

    Same positions as libcst's `PositionProvidingCodegenState` for the nodes it records:
    the targets and, transitively, the children they hoist their start or end from.
    Tokens are not kept. `anchor` is a statement whose syntactic start line is known;
    when set, lines are relative until the pass reaches it.
    """

    __slots__ = (
        "anchor",
        "anchor_line",
        "column",
        "found",
        "indent_width",
        "line",
        "needed",
        "remaining",
        "starts",
        "targets",
    )

    def __init__(
        self,
        module: cst.Module,
        targets: set[int],
        anchor: int = 0,
        indent: tuple[str, ...] = (),
    ) -> None:
        super().__init__(module.default_indent, module.default_newline)
        self.indent_tokens = list(indent)
        self.indent_width = sum(map(len, indent))
        # Module codegen adds a newline when nothing was emitted; only its length matters.
        self.tokens = [""] if module.header or module.body or module.footer else []
        self.line = 1
        self.column = 0
        self.needed = set(targets)
        self.targets = targets
        self.remaining = len(targets)
        self.starts: dict[int, _Pos] = {}
        self.found: dict[int, tuple[_Pos, _Pos]] = {}
        self.anchor = anchor
        self.anchor_line: int | None = None if anchor else 1

    def increase_indent(self, value: str) -> None:
        self.indent_tokens.append(value)
        self.indent_width += len(value)

    def decrease_indent(self) -> None:
        self.indent_width -= len(self.indent_tokens.pop())

    def add_indent_tokens(self) -> None:
        self.column += self.indent_width  # indents hold no newlines

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            if "\r" in value:  # "\r\n" and a lone "\r" both end a line, as in NEWLINE_RE
                parts = NEWLINE_RE.split(value)
                self.line += len(parts) - 1
                self.column = len(parts[-1])
            else:
                self.line += value.count("\n")
                self.column = len(value) - value.rfind("\n") - 1
        else:
            self.column += len(value)

    def pop_trailing_newline(self) -> None:
        pass  # positions ignore it, as libcst's do

    def before_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.needed:
            self.starts[key] = (self.line, self.column)

    def after_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.needed and key not in self.found:
            self.found[key] = (self.starts[key], (self.line, self.column))
            self.positioned(key)

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _NoRecord | _Record:
        key = id(node)
        if key == self.anchor:
            self.anchor_line = self.line
            if not self.remaining:
                raise _Stop
        if key not in self.needed:
            return _NO_RECORD
        needed = self.needed
        start_key = end_key = 0
        if start_node is not None:
            start_key = id(start_node)
            needed.add(start_key)
        if end_node is not None:
            end_key = id(end_node)
            needed.add(end_key)
        return _Record(self, key, start_key, end_key)

    def positioned(self, key: int) -> None:
        if key in self.targets:
            self.remaining -= 1
            if not self.remaining and self.anchor_line is not None:
                raise _Stop

    def ranges(self, line: int) -> dict[int, cst.metadata.CodeRange]:
        """Ranges of the positioned targets, given the absolute line of the anchor."""
        if self.anchor_line is None:
            return {}
        shift = line - self.anchor_line
        found = self.found
        return {
            key: CodeRange(CodePosition(s[0] + shift, s[1]), CodePosition(e[0] + shift, e[1]))
            for key in self.targets
            if key in found
            for s, e in (found[key],)
        }


def _run(node: cst.CSTNode, state: _LineColState, is_elif: bool = False) -> None:
    with contextlib.suppress(_Stop):
        if is_elif:  # an `elif` generates "elif" only when its parent `if` says so
            node._codegen(state, is_elif=True)
        else:
            node._codegen(state)


# libcst compound statements and the ast statements they parse to.
_AST_KINDS: dict[type, tuple[type, ...]] = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.TryStar: (ast.TryStar,),
    cst.Match: (ast.Match,),
}
# node id -> (start line, enclosing indents, whether it is an `elif`)
_Anchors = dict[int, tuple[int, tuple[str, ...], bool]]


class _Mismatch(Exception):
    pass


def _anchors(module: cst.Module, source: str) -> _Anchors | None:
    """Start line and indentation of every statement and except clause, from Python's parser.

    `ast` gives statement lines for a fraction of a code-generation pass. The two trees are
    walked in step; any disagreement in shape returns None (positions then come from one
    pass over the whole module).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = compile(source, "<unit>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        out: _Anchors = {}
        _anchor_block(module.body, tree.body, (), module.default_indent, out)
    except (SyntaxError, ValueError, RecursionError, MemoryError, _Mismatch, IndexError):
        return None
    return out


def _anchor_block(
    stmts: Sequence[cst.BaseStatement],
    nodes: list[ast.stmt],
    indent: tuple[str, ...],
    default: str,
    out: _Anchors,
    is_elif: bool = False,
) -> None:
    i = 0
    for stmt in stmts:
        if type(stmt) is cst.SimpleStatementLine:
            out[id(stmt)] = (nodes[i].lineno, indent, False)
            i += len(stmt.body)  # one ast statement per small statement
            continue
        node = nodes[i]
        i += 1
        if not isinstance(node, _AST_KINDS.get(type(stmt), ())):
            raise _Mismatch
        out[id(stmt)] = (node.lineno, indent, is_elif)
        if isinstance(stmt, cst.Match):
            if len(stmt.cases) != len(node.cases):  # type: ignore[attr-defined]
                raise _Mismatch
            cases = (*indent, default if stmt.indent is None else stmt.indent)
            for case, ast_case in zip(stmt.cases, node.cases, strict=True):  # type: ignore[attr-defined]
                _anchor_suite(case.body, ast_case.body, cases, default, out)
            continue
        _anchor_suite(stmt.body, node.body, indent, default, out)  # type: ignore[attr-defined]
        if isinstance(stmt, cst.Try | cst.TryStar):
            if len(stmt.handlers) != len(node.handlers):  # type: ignore[attr-defined]
                raise _Mismatch
            for handler, ast_handler in zip(stmt.handlers, node.handlers, strict=True):  # type: ignore[attr-defined]
                out[id(handler)] = (ast_handler.lineno, indent, False)
                _anchor_suite(handler.body, ast_handler.body, indent, default, out)
            final = stmt.finalbody
            if final is not None:
                _anchor_suite(final.body, node.finalbody, indent, default, out)  # type: ignore[attr-defined]
            elif node.finalbody:  # type: ignore[attr-defined]
                raise _Mismatch
        orelse = getattr(stmt, "orelse", None)
        ast_orelse: list[ast.stmt] = getattr(node, "orelse", [])
        if isinstance(orelse, cst.If):  # elif
            _anchor_block((orelse,), ast_orelse, indent, default, out, is_elif=True)
        elif isinstance(orelse, cst.Else):
            _anchor_suite(orelse.body, ast_orelse, indent, default, out)
        elif ast_orelse:
            raise _Mismatch
    if i != len(nodes):
        raise _Mismatch


def _anchor_suite(
    suite: cst.BaseSuite,
    nodes: list[ast.stmt],
    indent: tuple[str, ...],
    default: str,
    out: _Anchors,
) -> None:
    if isinstance(suite, cst.IndentedBlock):
        inner = (*indent, default if suite.indent is None else suite.indent)
        _anchor_block(suite.body, nodes, inner, default, out)
    elif len(suite.body) != len(nodes):  # SimpleStatementSuite: small statements only
        raise _Mismatch


def resolve_positions(
    module: cst.Module,
    reports: Iterable[tuple[cst.CSTNode, cst.CSTNode | None]],
    source: str | None = None,
) -> dict[int, cst.metadata.CodeRange]:
    """Positions (by node id) of the reported nodes only, equal to libcst's PositionProvider.

    `reports` pairs each node with a statement (or except clause) that holds it, or None.
    With the module's `source` (the text `module` was parsed from), Python's own parser
    gives each holder's start line, and code generation runs over the holders only, each
    stopping at its last reported node. Otherwise, and for nodes their holder does not
    contain, one pass over the module tracks lines and columns and stops at the last node.
    """
    pairs = list(reports)
    try:
        return _resolve(module, pairs, source)
    except KeyError:  # a libcst code generation this resolver does not know
        return _libcst_positions(module, {id(node) for node, _ in pairs})


def _resolve(
    module: cst.Module,
    pairs: list[tuple[cst.CSTNode, cst.CSTNode | None]],
    source: str | None,
) -> dict[int, cst.metadata.CodeRange]:
    by_holder: dict[int, tuple[cst.CSTNode, set[int]]] = {}
    loose: set[int] = set()
    for node, holder in pairs:
        if holder is None:
            loose.add(id(node))
        else:
            by_holder.setdefault(id(holder), (holder, set()))[1].add(id(node))
    anchors = _anchors(module, source) if source is not None and by_holder else None
    found: dict[int, cst.metadata.CodeRange] = {}
    for key, (holder, targets) in by_holder.items():
        anchor = anchors.get(key) if anchors is not None else None
        if anchor is None:
            loose |= targets
            continue
        line, indent, is_elif = anchor
        state = _LineColState(module, targets, key, indent)
        _run(holder, state, is_elif)
        got = state.ranges(line)
        found.update(got)
        if len(got) < len(targets):  # a holder that does not hold its node
            loose |= targets - got.keys()
    loose -= found.keys()
    if loose:
        state = _LineColState(module, loose)
        _run(module, state)
        found.update(state.ranges(1))
    return found


def _libcst_positions(module: cst.Module, keys: set[int]) -> dict[int, cst.metadata.CodeRange]:
    ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {id(n): r for n, r in ranges.items() if id(n) in keys}


_SKIP, _NODE, _SEQUENCE = 0, 1, 2
_KINDS: dict[type, int] = {}  # value type -> how the walk treats it (no ABC isinstance per value)


def _kind(cls: type) -> int:
    kind = _KINDS.get(cls)
    if kind is None:
        if issubclass(cls, cst.CSTNode):
            kind = _SKIP if issubclass(cls, _TRIVIA) else _NODE
        else:
            kind = _SEQUENCE if issubclass(cls, tuple | list) else _SKIP
        _KINDS[cls] = kind
    return kind


def _walk(module: cst.Module, ctx: UnitContext, visits: dict[type, list], leaves: dict) -> None:
    stack = ctx.stack
    pending = ctx.pending
    fields_of = _child_fields
    kinds = _KINDS
    kind_of = _kind

    def walk(node: cst.CSTNode) -> None:
        cls = type(node)
        stack.append(node)
        if pending:
            reps = pending.pop(id(node), None)
            if reps:
                holder = _holder(stack, len(stack) - 1)
                for rep in reps:
                    rep.holder = holder
        for fn in visits.get(cls, ()):
            fn(node)
        for name in fields_of(cls):
            value = getattr(node, name)
            kind = kinds.get(type(value))
            if kind is None:
                kind = kind_of(type(value))
            if kind == _NODE:
                walk(value)
            elif kind == _SEQUENCE:
                for item in value:
                    kind = kinds.get(type(item))
                    if kind is None:
                        kind = kind_of(type(item))
                    if kind == _NODE:
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
                found.append((attr, node_cls, attr[0] == "v"))
        hooks = _HOOKS[rule_cls] = tuple(found)
    return hooks


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
    positions = resolve_positions(module, ((r.node, r.holder) for r in ctx.reports), unit.source)
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
