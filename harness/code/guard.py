"""Limits a unit is checked under, so that no reply can crash, hang or exhaust a run.

Before libcst sees a unit, Python's own parser (which refuses what it cannot handle, and
never crashes) measures it: a unit that is too large or nested too deeply is not given to
libcst, whose native parser overflows its stack on deep nesting. While a unit is checked, a
timer bounds the time it may take. Breaking a limit is a `CheckProblem`, reported as the
unit's `check-error`, never a crash and never a pass.
"""

from __future__ import annotations

import ast
import contextlib
import tokenize
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO

from harness.deadline import Expired, deadline


@dataclass(frozen=True, slots=True)
class Limits:
    """Defaults as in `RulesConfig` (`rules:` in harness.yaml)."""

    max_unit_chars: int = 200_000
    max_depth: int = 100  # nesting of Python's syntax tree (real code stays far below)
    timeout: float = 10.0  # seconds
    max_line_chars: int = 20_000  # Python's parser is quadratic on some long bad lines


class CheckProblem(Exception):
    """A unit broke a limit, or checking it failed: the reason, for the record."""


@dataclass(frozen=True, slots=True)
class Precheck:
    """What Python's parser says of a unit before libcst sees it."""

    tree: ast.Module | None = None  # Python's syntax tree, when Python parses it
    syntax_error: SyntaxError | None = None  # Python refused it (libcst may still parse it)
    unsafe: bool = False  # ... and it is nested too deeply to give libcst


def precheck(source: str, limits: Limits) -> Precheck:
    """Raise CheckProblem when `source` is too large or nested too deeply to check safely."""
    if len(source) > limits.max_unit_chars:
        raise CheckProblem(
            f"unit too large to check: {len(source):,} characters (limit {limits.max_unit_chars:,})"
        )
    longest = max(map(len, source.split("\n")))
    if longest > limits.max_line_chars:
        raise CheckProblem(
            f"a line too long to check: {longest:,} characters (limit {limits.max_line_chars:,})"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = compile(source, "<unit>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        if "too many nested" in (exc.msg or "") or "too complex" in (exc.msg or ""):
            raise CheckProblem(f"nested too deeply to check: {exc.msg}") from None
        return Precheck(syntax_error=exc, unsafe=token_depth(source) > limits.max_depth)
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise CheckProblem(f"Python's parser refused it: {type(exc).__name__}") from None
    if tree_depth(tree, limits.max_depth) > limits.max_depth:
        raise CheckProblem(f"nested too deeply to check: depth over {limits.max_depth}")
    return Precheck(tree=tree)


def tree_depth(tree: ast.AST, limit: int | None = None) -> int:
    """The depth of a syntax tree (stopping past `limit`), level by level, without recursion."""
    node_type = ast.AST
    level: list[ast.AST] = [tree]
    depth = 0
    while level:
        depth += 1
        if limit is not None and depth > limit:
            break
        below: list[ast.AST] = []
        for node in level:
            for name in node._fields:
                value = getattr(node, name, None)
                if type(value) is list:
                    below.extend([v for v in value if isinstance(v, node_type)])
                elif isinstance(value, node_type) and not isinstance(value, ast.expr_context):
                    below.append(value)
        level = below
    return depth


def token_depth(source: str) -> int:
    """An upper estimate of nesting for text Python does not parse: open brackets, plus the
    longest run of prefix keywords and operators (`lambda`, `not`, unary signs) and of
    attribute dots on one logical line."""
    deepest = depth = run = dots = 0
    prefix = {"lambda", "not", "await", "-", "+", "~", "*", "**"}
    try:
        for tok in tokenize.generate_tokens(StringIO(source).readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth = max(0, depth - 1)
            if tok.string in prefix:
                run += 1
            elif tok.type not in (tokenize.NL, tokenize.COMMENT):
                run = 0 if tok.string != ":" else run
            if tok.string == ".":
                dots += 1
            elif tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                dots = 0
            deepest = max(deepest, depth + run, dots)
    except (tokenize.TokenError, SyntaxError, IndentationError, ValueError):
        pass  # what was read so far counts
    return deepest


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise CheckProblem when the block runs longer than `seconds` (`harness.deadline`: the
    main thread of a process, as in the check worker; elsewhere unbounded, and the worker's
    supervisor bounds it from outside)."""
    try:
        with deadline(seconds):
            yield
    except Expired:
        raise CheckProblem(f"check took longer than {seconds:g} s") from None
