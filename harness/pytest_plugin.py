"""pytest plugin: prompt regression checks as test items (enabled with `--harness`)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "prompt-harness regression gate")
    group.addoption("--harness", action="store_true", help="check templates against golden/")
