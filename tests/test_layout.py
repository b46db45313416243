"""The layout stays easy to change: small modules (import cycles are checked by lint-imports)."""

from __future__ import annotations

from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "harness"
MAX_LINES = 600


def test_no_module_is_over_600_lines() -> None:
    sizes = {p: p.read_text().count("\n") for p in HARNESS.rglob("*.py")}
    assert sizes, "no modules found"
    big = {str(p.relative_to(HARNESS)): n for p, n in sizes.items() if n > MAX_LINES}
    assert big == {}
