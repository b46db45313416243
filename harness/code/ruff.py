"""Run ruff once over a batch of code units and map its JSON output to Findings.

One process per batch: the units are written to a temporary directory under unique names,
ruff checks the directory, and each result is mapped back to its unit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from harness.code.known import FASTAPI_PARAMETERS
from harness.code.suppress import is_suppressed
from harness.code.unit import CodeUnit
from harness.errors import ToolError
from harness.findings import Finding, Severity

RUFF_PREFIX = "ruff:"
INSTALL_HINT = "install it with `pip install ruff`, or disable ruff with --no-ruff"
# Syntax errors are reported by the engine as parse errors, not as ruff findings.
_SYNTAX_CODES = frozenset({"E999", "invalid-syntax", "syntax-error"})
_ERROR_PREFIXES = ("F", "E9")
#: FastAPI's parameter functions are meant as defaults (`db: Session = Depends(get_db)`):
#: ruff's B008 is told so, as its docs advise for FastAPI.
IMMUTABLE_CALLS = FASTAPI_PARAMETERS


@cache
def ruff_command() -> tuple[str, ...]:
    """How to start ruff: the binary next to this Python, on PATH, or `python -m ruff`."""
    beside = shutil.which("ruff", path=os.path.dirname(sys.executable))
    found = beside or shutil.which("ruff")
    if found:
        return (found,)
    if importlib.util.find_spec("ruff") is not None:
        return (sys.executable, "-m", "ruff")
    raise ToolError("ruff is not installed", hint=INSTALL_HINT)


@cache
def ruff_version() -> str:
    """The installed ruff version, e.g. `0.6.9`."""
    out = _run([*ruff_command(), "--version"])
    return out.stdout.strip().removeprefix("ruff").strip()


def strip_prefix(selector: str) -> str:
    """`ruff:F401` -> `F401`."""
    return selector[len(RUFF_PREFIX) :] if selector.startswith(RUFF_PREFIX) else selector


def run_ruff(
    units: Sequence[CodeUnit],
    select: Sequence[str],
    *,
    ignore: Sequence[str] = (),
    timeout: float = 300.0,
) -> list[tuple[Finding, ...]]:
    """Ruff findings for each unit (one tuple per unit, in order), codes `ruff:XXX`."""
    codes = [strip_prefix(s) for s in select if strip_prefix(s)]
    if not units or not codes:
        return [() for _ in units]
    per_unit: list[list[Finding]] = [[] for _ in units]
    with tempfile.TemporaryDirectory(prefix="harness-ruff-") as tmp:
        names: dict[str, int] = {}
        for i, unit in enumerate(units):
            name = f"unit_{i:06d}.py"
            names[name] = i
            with open(Path(tmp, name), "w", encoding="utf-8", errors="replace", newline="") as fh:
                fh.write(unit.source)
        cmd = [
            *ruff_command(),
            "check",
            "--output-format",
            "json",
            "--no-cache",
            "--isolated",
            "--exit-zero",
            "--select",
            ",".join(codes),
            "--config",
            f"lint.flake8-bugbear.extend-immutable-calls = {json.dumps(IMMUTABLE_CALLS)}",
        ]
        ignored = [strip_prefix(s) for s in ignore if strip_prefix(s)]
        if ignored:
            cmd += ["--ignore", ",".join(ignored)]
        out = _run([*cmd, tmp], timeout=timeout)
        if out.returncode != 0:
            raise ToolError(f"ruff failed: {_reason(out)}", hint="check the ruff rule selectors")
        try:
            items = json.loads(out.stdout or "[]")
        except json.JSONDecodeError as exc:
            raise ToolError(f"cannot read ruff output: {exc}") from None
    lines: dict[int, list[str]] = {}
    for item in items:
        index = names.get(Path(item.get("filename") or "").name)
        finding = _finding(item, units[index].path) if index is not None else None
        if finding is None or index is None:
            continue
        text = lines.setdefault(index, units[index].source.splitlines())
        line = text[finding.line - 1] if 0 < finding.line <= len(text) else ""
        if not is_suppressed(line, finding.code):
            per_unit[index].append(finding)
    return [tuple(sorted(fs, key=lambda f: (f.line, f.col, f.code))) for fs in per_unit]


def _finding(item: dict, path: str) -> Finding | None:
    code = item.get("code")
    message = item.get("message") or ""
    if not code or code in _SYNTAX_CODES or message.startswith("SyntaxError"):
        return None
    start = item.get("location") or {}
    end = item.get("end_location") or start
    line, col = int(start.get("row") or 1), int(start.get("column") or 1)
    return Finding(
        code=f"{RUFF_PREFIX}{code}",
        name=item.get("name") or code,
        message=message,
        line=line,
        col=col,
        end_line=int(end.get("row") or line),
        end_col=int(end.get("column") or col),
        severity=Severity.ERROR if code.startswith(_ERROR_PREFIXES) else Severity.WARNING,
        path=path,
    )


def _reason(out: subprocess.CompletedProcess[str]) -> str:
    lines = [s.strip() for s in out.stderr.splitlines() if s.strip()]
    lines = [s.removeprefix("Cause:").strip() for s in lines if s != "ruff failed"]
    return lines[0] if lines else f"exit code {out.returncode}"


def _run(cmd: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, encoding="utf-8", timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise ToolError("ruff is not installed", hint=INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"ruff did not finish within {timeout:.0f}s") from None
