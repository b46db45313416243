"""Lazy positions agree with libcst's PositionProvider for any set of reported nodes."""

from __future__ import annotations

import random
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from harness.code.engine import resolve_positions

SOURCE = (
    Path(cst.__file__).with_name("_parser").joinpath("entrypoints.py").read_text()
    + '\n\n@decorator(1,\n  2)\nclass X:\n    """doc\n\n    more"""\n\n    def f(self):\n'
    "        return (1 +\n                2)\n"
)


def test_positions_match_libcst_for_random_node_sets() -> None:
    module = cst.parse_module(SOURCE)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    top: dict[int, cst.CSTNode] = {}
    for stmt in module.body:
        for node in _descendants(stmt):
            top[id(node)] = stmt
    nodes = [n for n in expected if not isinstance(n, cst.Module)]
    rng = random.Random(7)
    for _ in range(150):
        picked = rng.sample(nodes, rng.randint(1, 4))
        # Sometimes claim the wrong top statement: the resolver must still find the node.
        pairs = [(n, top.get(id(n)) if rng.random() > 0.1 else module.body[0]) for n in picked]
        got = resolve_positions(module, pairs)
        for n in picked:
            assert got[id(n)] == expected[n], type(n).__name__


def _descendants(node: cst.CSTNode) -> list[cst.CSTNode]:
    out = [node]
    for child in node.children:
        out.extend(_descendants(child))
    return out
