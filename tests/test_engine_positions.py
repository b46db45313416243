"""Lazy positions agree with libcst's PositionProvider for any set of reported nodes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from harness.code import facts as facts_mod
from harness.code import positions
from harness.code.context import UnitContext
from harness.code.engine import walk
from harness.code.positions import resolve_positions, statement_anchors
from harness.code.rule import CodeRule

CORPUS = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus"
LIBCST_ENTRYPOINTS = Path(cst.__file__).with_name("_parser").joinpath("entrypoints.py")
HOLDERS = (
    cst.SimpleStatementLine,
    cst.BaseCompoundStatement,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
)

DECORATED = '''\
import functools  # header-ish comment


# a comment before a decorator
@functools.lru_cache(
    maxsize=None,
)

# a comment between decorators
@ staticmethod
async def fetch(a: int, *args: str, b: "int | None" = None, **kw) -> list[int]:
    """Docstring
    spanning lines."""
    async with open(a) as f, open(b) as g:  # trailing comment
        async for x in f:
            yield x
    return [
        a,  # inside brackets
        b,
    ]


class Outer(Base, metaclass=Meta):
    class Inner:
        x: int = 1
        # footer comment of Inner, deeper than the next statement

    # a comment before a method
    def method(self) -> None: ...

    @property
    def value(self): return self._v; pass
'''

CONTROL_FLOW = """\
x = 1; y = 2; z = (
    3
)
if x:
    pass
elif y:  # elif comment
    y = 3
elif z: z = 4; x = 5
else:
    # only a comment then code
    x = 0
for i in range(3):
    continue
else:
    pass
while False:
    break
else:
    x = 1
try:
    x = int("1")
except (ValueError, TypeError) as exc:
    raise RuntimeError("bad") from exc
except Exception:
    pass
else:
    y = 1
finally:
    z = 2
try:
    pass
except* ValueError:
    pass
with open("a") as a, (open("b")) as b: a.read()
match x:
    case [1, 2, *rest]:
        pass
    case {"k": v} if v > 1:
        pass
    case Point(x=0) | None:
        pass
    case _:
        pass
lambda_ = lambda a, *b, c=1, **d: (a, b, c, d)
value = [i for i in range(10) if i % 2] + {k: v for k, v in {}.items()}.keys()
del x, y
global_ = not (a and b or c) and -d ** 2 @ e
assert value, "message"
"""

STRINGS_AND_CONTINUATIONS = '''\
MULTI = """first
second
    third"""
RAW = r"""raw \\n {not} an f-string
"""
CONCAT = ("a" "b"
          f"c{MULTI!r:>{10}}d"
          """e
f""")
total = 1 + \\
    2 + \\
        3
if total and \\
        MULTI:
    call(a,
         b, *c,
         d=(e
            + f), **g)[1:2, ::3]
s = f"""{
    total
}"""
'''

TABS = "if a:\n\tif b:\n\t\tx = (1,\n\t\t     2)\n\telse:\n\t\ty = 2\n"
HEADER_NO_NEWLINE = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n\n\nx = 1\ny = [\n  2\n]"
UNICODE = 'NAME = "héllo wörld"; OTHER = "日本"\nif NAME:  # ünïcode\n    print(OTHER, NAME)\n'
LIBCST_EXTRA = (
    '\n\n@decorator(1,\n  2)\nclass X:\n    """doc\n\n    more"""\n\n    def f(self):\n'
    "        return (1 +\n                2)\n"
)

SOURCES: dict[str, str] = {p.name: p.read_text() for p in sorted(CORPUS.glob("*.py"))}
SOURCES |= {
    "entrypoints": LIBCST_ENTRYPOINTS.read_text() + LIBCST_EXTRA,
    "decorated": DECORATED,
    "control_flow": CONTROL_FLOW,
    "strings": STRINGS_AND_CONTINUATIONS,
    "tabs": TABS,
    "header_no_newline": HEADER_NO_NEWLINE,
    "unicode": UNICODE,
    "crlf_decorated": DECORATED.replace("\n", "\r\n"),
    "crlf_strings": STRINGS_AND_CONTINUATIONS.replace("\n", "\r\n"),
    "crlf_no_newline": HEADER_NO_NEWLINE.replace("\n", "\r\n"),
    "cr_control_flow": CONTROL_FLOW.replace("\n", "\r"),
    "only_comments": "# just a comment\n\n# and another\n",
    "comment_no_newline": "# just a comment",
    "empty": "",
    "newline_only": "\n",
    "form_feed": "x = 1\n\x0c\ndef f():\n    return x\n",
}


def _parents(module: cst.Module) -> dict[int, list[cst.CSTNode]]:
    """Ancestors (outermost first, the node itself last) of every node, by id."""
    out: dict[int, list[cst.CSTNode]] = {}

    def visit(node: cst.CSTNode, path: list[cst.CSTNode]) -> None:
        path = [*path, node]
        out[id(node)] = path
        for child in node.children:
            visit(child, path)

    visit(module, [])
    return out


def _innermost_holder(path: list[cst.CSTNode]) -> cst.CSTNode | None:
    for node in reversed(path):
        if isinstance(node, HOLDERS):
            return node
    return None


def _top_holder(path: list[cst.CSTNode]) -> cst.CSTNode | None:
    return path[1] if len(path) > 1 and isinstance(path[1], cst.BaseStatement) else None


class Case:
    def __init__(self, name: str) -> None:
        self.source = SOURCES[name]
        self.module = cst.parse_module(self.source)  # libcst drops a final lone "\r"
        self.expected = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
            PositionProvider
        )
        self.paths = _parents(self.module)
        self.nodes = list(self.expected)
        self.statements = [n for n in self.nodes if isinstance(n, HOLDERS)]

    def check(self, pairs: list[tuple[cst.CSTNode, cst.CSTNode | None]], *, source: bool) -> None:
        got = resolve_positions(self.module, pairs, self.source if source else None)
        for node, _ in pairs:
            assert got[id(node)] == self.expected[node], (type(node).__name__, source)


@pytest.fixture(scope="module", params=sorted(SOURCES))
def case(request: pytest.FixtureRequest) -> Case:
    return Case(request.param)


def test_every_node_at_once(case: Case) -> None:
    for source in (True, False):
        holders = [(n, _innermost_holder(case.paths[id(n)])) for n in case.nodes]
        case.check(holders, source=source)


def test_each_statement_alone(case: Case) -> None:
    for stmt in case.statements:
        case.check([(stmt, stmt)], source=True)


def test_random_node_sets(case: Case) -> None:
    rng = random.Random(len(case.source))
    for trial in range(80):
        picked = rng.sample(case.nodes, min(len(case.nodes), rng.randint(1, 6)))
        pairs = list(_pairs(picked, case, rng))
        case.check(pairs, source=trial % 4 != 0)


def _pairs(
    picked: list[cst.CSTNode], case: Case, rng: random.Random
) -> Iterator[tuple[cst.CSTNode, cst.CSTNode | None]]:
    """Each node with its innermost holder, its top-level statement, none, or a wrong one."""
    for node in picked:
        path = case.paths[id(node)]
        roll = rng.random()
        if roll < 0.6:
            yield node, _innermost_holder(path)
        elif roll < 0.75:
            yield node, _top_holder(path)
        elif roll < 0.85:
            yield node, None
        else:  # a statement that may not hold the node: the resolver must still find it
            yield node, rng.choice(case.statements) if case.statements else None


def test_leading_lines_and_decorators_before_the_holder_start() -> None:
    case = Case("decorated")
    for stmt in case.statements:
        inner = [
            n
            for n in case.nodes
            if isinstance(n, cst.EmptyLine | cst.Decorator | cst.Comment)
            and stmt in case.paths[id(n)]
        ]
        if inner:
            case.check([(n, stmt) for n in inner], source=True)


class _Probe(CodeRule):
    code = "TST001"
    name = "probe"
    message = "probe"


def test_walk_gives_reports_of_descendants_their_innermost_holder() -> None:
    source = SOURCES["schemas_legacy.py"]
    module = cst.parse_module(source)
    ctx = UnitContext(facts=facts_mod.collect(module))
    rule = _Probe.__new__(_Probe)

    def on_class(node: cst.ClassDef) -> None:  # report fields before the walk reaches them
        for stmt in node.body.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                ctx.report(rule, stmt.body[0], "field")

    def on_leave_class(node: cst.ClassDef) -> None:  # after the walk passed them
        ctx.report(rule, node.name, "name")
        ctx.report(rule, node, "class")

    walk(module, ctx, {cst.ClassDef: [on_class]}, {cst.ClassDef: [on_leave_class]})
    fields = [r for r in ctx.reports if r.message == "field"]
    assert fields
    assert all(isinstance(r.holder, cst.SimpleStatementLine) for r in fields)
    assert all(r.holder is not None and r.node in r.holder.body for r in fields)  # type: ignore[attr-defined]
    assert all(isinstance(r.holder, cst.ClassDef) for r in ctx.reports if r.message != "field")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = resolve_positions(module, [(r.node, r.holder) for r in ctx.reports], source)
    for rep in ctx.reports:
        assert got[id(rep.node)] == expected[rep.node]


def test_python_parser_gives_every_holder_its_start_line(case: Case) -> None:
    anchors = statement_anchors(case.module, case.source)
    assert anchors is not None
    for stmt in case.statements:
        assert anchors[id(stmt)][0] == case.expected[stmt].start.line, type(stmt).__name__


@pytest.mark.parametrize(
    "source",
    [
        "type Alias = list[int]\nx: Alias = [1]\n",  # newer syntax than this Python parses
        "class A:\n    def f[T](self, x: T) -> T:\n        return x\n",
    ],
)
def test_sources_python_cannot_parse_still_get_positions(source: str) -> None:
    module = cst.parse_module(source)
    assert statement_anchors(module, source) is None
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    paths = _parents(module)
    pairs = [(n, _innermost_holder(paths[id(n)])) for n in expected]
    got = resolve_positions(module, pairs, source)
    assert all(got[id(n)] == expected[n] for n in expected)


def test_falls_back_to_libcst_when_code_generation_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = Case("decorated")

    def unknown(*args: object) -> None:
        raise KeyError("a child range this resolver did not record")

    monkeypatch.setattr(positions, "_resolve", unknown)
    case.check([(n, _innermost_holder(case.paths[id(n)])) for n in case.nodes], source=True)


def test_installed_libcst_has_the_fast_path() -> None:
    # The pinned libcst range must keep the internals; the fallback is for surprises.
    assert positions.FAST_PATH


def test_fast_path_detection_fails_closed_without_the_internals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(positions, "NEWLINE_RE", None)
    assert not positions._fast_path_available()
    monkeypatch.undo()
    monkeypatch.delattr(positions.CodegenState, "record_syntactic_position")
    assert not positions._fast_path_available()


def test_forced_fallback_gives_the_fast_path_positions_for_every_reported_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.code.engine import RuleSet, check_unit
    from harness.code.unit import CodeUnit

    units = [CodeUnit.from_path(p.name, p.read_text()) for p in sorted(CORPUS.glob("*.py"))]
    rules = RuleSet.build()
    fast = [check_unit(u, rules).findings for u in units]
    assert sum(map(len, fast)) > 20  # the corpus has findings to place
    monkeypatch.setattr(positions, "FAST_PATH", False)
    monkeypatch.setattr(positions, "_resolve", None)  # would fail if still called
    slow = [check_unit(u, rules).findings for u in units]
    assert slow == fast


@pytest.mark.parametrize("hook", ["visit_Comment", "visit_BitOr", "visit_AssignEqual", "leave_Not"])
def test_hooks_on_nodes_the_walk_never_visits_are_refused(hook: str) -> None:
    from harness.code.engine import _hooks

    if hook == "visit_BitOr":  # reachable in `match` patterns only, so allowed
        rule = type("BitOrRule", (CodeRule,), {"code": "TST901", hook: lambda self, n: None})
        assert _hooks(rule)
        return
    rule = type("NeverFires", (CodeRule,), {"code": "TST900", hook: lambda self, n: None})
    with pytest.raises(TypeError, match="never fires"):
        _hooks(rule)
