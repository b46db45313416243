"""Positions of reported nodes only, equal to libcst's `PositionProvider`, at a fraction of
its cost.

Python's own parser gives the start line of the innermost statement holding each reported
node, and a code generation that tracks only lines and columns runs over that statement alone,
stopping at the reported node. This uses libcst internals (`CodegenState`, `node._codegen`);
`FAST_PATH` says whether the installed libcst has them, and without them (or on any surprise
from them) positions come from libcst's public `PositionProvider`.
"""

from __future__ import annotations

import ast
import contextlib
import warnings
from collections.abc import Iterable, Sequence

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

try:  # libcst internals of the fast path; checked again in `_fast_path_available`
    from libcst._nodes.internal import CodegenState
    from libcst.metadata.position_provider import NEWLINE_RE
except ImportError:  # pragma: no cover - depends on the libcst release
    CodegenState = object  # type: ignore[assignment,misc]
    NEWLINE_RE = None  # type: ignore[assignment]


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


def statement_anchors(
    module: cst.Module, source: str, tree: ast.Module | None = None
) -> _Anchors | None:
    """Start line and indentation of every statement and except clause, from Python's parser.

    `ast` gives statement lines for a fraction of a code-generation pass. The two trees are
    walked in step; any disagreement in shape returns None (positions then come from one
    pass over the whole module).
    """
    try:
        if tree is None:
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
    *,
    tree: ast.Module | None = None,
) -> dict[int, cst.metadata.CodeRange]:
    """Positions (by node id) of the reported nodes only, equal to libcst's PositionProvider.

    `reports` pairs each node with a statement (or except clause) that holds it, or None.
    With the module's `source` (the text `module` was parsed from), Python's own parser
    gives each holder's start line, and code generation runs over the holders only, each
    stopping at its last reported node. Otherwise, and for nodes their holder does not
    contain, one pass over the module tracks lines and columns and stops at the last node.
    """
    pairs = list(reports)
    if FAST_PATH:
        try:
            return _resolve(module, pairs, source, tree)
        except (KeyError, AttributeError, TypeError):  # a code generation it does not know
            pass
    return _libcst_positions(module, {id(node) for node, _ in pairs})


def _resolve(
    module: cst.Module,
    pairs: list[tuple[cst.CSTNode, cst.CSTNode | None]],
    source: str | None,
    tree: ast.Module | None = None,
) -> dict[int, cst.metadata.CodeRange]:
    by_holder: dict[int, tuple[cst.CSTNode, set[int]]] = {}
    loose: set[int] = set()
    for node, holder in pairs:
        if holder is None:
            loose.add(id(node))
        else:
            by_holder.setdefault(id(holder), (holder, set()))[1].add(id(node))
    anchors = statement_anchors(module, source, tree) if source is not None and by_holder else None
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


def _fast_path_available() -> bool:
    """Whether this libcst has the internals the fast path drives, with the same shape."""
    if NEWLINE_RE is None or CodegenState is object:
        return False
    needed = ("add_token", "add_indent_tokens", "record_syntactic_position", "increase_indent")
    if not all(callable(getattr(CodegenState, name, None)) for name in needed):
        return False
    if not callable(getattr(cst.CSTNode, "_codegen", None)):
        return False
    try:  # one real pass: the state must see the code generation it expects
        module = cst.parse_module("x = (1,\n  2)\n")
        value = module.body[0].body[0].value  # type: ignore[attr-defined]
        got = _resolve(module, [(value, None)], None)
    except Exception:
        return False
    return got == _libcst_positions(module, {id(value)})


def _libcst_positions(module: cst.Module, keys: set[int]) -> dict[int, cst.metadata.CodeRange]:
    ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {id(n): r for n, r in ranges.items() if id(n) in keys}


#: The fast path is used when the installed libcst has the internals it needs.
FAST_PATH: bool = _fast_path_available()
