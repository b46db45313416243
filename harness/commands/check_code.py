"""`harness check-code PATH...`: check Python files with the code rules and ruff."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path

import click

from harness.code.engine import CheckResult, RuleSet, check_unit, check_units
from harness.code.project import relative_to
from harness.code.unit import CodeUnit, Role
from harness.config import RulesConfig
from harness.findings import Finding
from harness.worker import Worker, WorkerDied, map_isolated

# Directories never searched: caches, virtualenvs, vendored packages.
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "env"})
SOURCE_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file that could not be checked: it does not decode or does not parse."""

    kind: str  # "parse-error" | "decode-error" | "check-error"
    message: str
    line: int = 1
    col: int = 1


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    problem: FileProblem | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """`--select` / `--ignore` split into our rule selectors and ruff's."""

    rules_select: list[str] | None
    rules_ignore: list[str]
    ruff_select: list[str]
    ruff_ignore: list[str]


def find_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Python files under `paths`, sorted; hidden dirs, caches and virtualenvs are skipped."""
    seen: set[Path] = set()
    for root in paths:
        if root.is_file():
            candidates: Iterator[Path] = iter([root])
        else:
            candidates = iter(sorted(_walk(root)))
        for path in candidates:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                yield path


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".")
            and d not in SKIP_DIRS
            and not (Path(dirpath, d, "pyvenv.cfg")).exists()
        )
        for name in sorted(filenames):
            if name.endswith(SOURCE_SUFFIXES) and not name.startswith("."):
                yield Path(dirpath, name)


def read_source(path: Path) -> str | FileProblem:
    """Decode a file as Python does (BOM, coding cookie, else UTF-8)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileProblem("decode-error", f"cannot read file: {exc.strerror or exc}")
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return FileProblem("decode-error", f"cannot decode file: {exc}")


def split_selection(
    select: Sequence[str], ignore: Sequence[str], ruff_default: Sequence[str], use_ruff: bool
) -> Selection:
    """Our selectors go to the rule set, `ruff:XXX` ones to ruff (`ruff` alone: its defaults).

    With no `--select`, every rule runs and ruff runs with the configured selection. With a
    `--select`, only what it names runs: `--select EXC` runs no ruff, `--select ruff:F` no rule.
    """
    ours = [s for s in select if not _is_ruff(s)]
    ruff_sel = [s for s in select if _is_ruff(s)]
    if not select:
        ruff_list = list(ruff_default)
    else:
        ruff_list = [x for s in ruff_sel for x in (ruff_default if s == "ruff" else [s[5:]])]
    return Selection(
        rules_select=ours if select else None,
        rules_ignore=[s for s in ignore if not _is_ruff(s)],
        ruff_select=ruff_list if use_ruff else [],
        ruff_ignore=[s[5:] for s in ignore if s.startswith("ruff:")],
    )


def _is_ruff(selector: str) -> bool:
    return selector == "ruff" or selector.startswith("ruff:")


def _split_csv(values: Sequence[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


REPLY_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True, slots=True)
class Input:
    """One thing to check: a Python file (`name` is its path below the directory named on
    the command line, for module paths) or a model's reply (`-` is stdin)."""

    path: str
    text: str | FileProblem
    reply: bool
    name: str


def find_inputs(paths: Sequence[Path], *, reply: bool = False) -> Iterator[Input]:
    """Python files under directories; files named on the command line as they are. A
    `.md` / `.txt` file, `-`, or any file with `reply=True` is a reply."""
    for root in paths:
        if str(root) == "-":
            yield Input("-", _read_stdin(), True, "-")
            continue
        base = root if root.is_dir() else root.parent
        for path in find_files([root]):
            is_reply = reply or path.suffix.lower() in REPLY_SUFFIXES
            display = path.as_posix()
            name = relative_to(display, base.as_posix())
            yield Input(display, read_source(path), is_reply, name)


def _read_stdin() -> str | FileProblem:
    data = click.get_binary_stream("stdin").read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FileProblem("decode-error", f"stdin is not UTF-8: {exc}")


@dataclass(frozen=True, slots=True)
class _Project:
    """Units checked together, and where each unit's findings go."""

    units: tuple[CodeUnit, ...]
    names: tuple[str, ...]
    owners: tuple[int, ...]  # index of the input (result row) each unit belongs to


def check_files(
    files: Sequence[Path] | Sequence[Input],
    selection: Selection,
    *,
    role: Role | None = None,
    settings: RulesConfig | None = None,
) -> list[FileResult]:
    """Check every input. The Python files form one project (their names resolve into each
    other); the code blocks of each reply form another. One ruff batch for every unit that
    parses. A reply's findings point at the reply's own lines."""
    from harness.code.extract import extract
    from harness.code.ruff import run_ruff

    inputs = [
        f if isinstance(f, Input) else Input(f.as_posix(), read_source(f), False, f.as_posix())
        for f in files
    ]
    if selection.rules_select == []:  # only ruff codes were selected
        ruleset = RuleSet((), settings or RulesConfig())
    else:
        ruleset = RuleSet.build(selection.rules_select, selection.rules_ignore, settings)
    out: list[FileResult] = []
    files_project: list[tuple[CodeUnit, str, int]] = []
    projects: list[_Project] = []
    for inp in inputs:
        row = len(out)
        out.append(FileResult(inp.path))
        if isinstance(inp.text, FileProblem):
            out[row] = FileResult(inp.path, problem=inp.text)
        elif inp.reply:
            ex = extract(inp.text, role=role or Role.OTHER, default_path="reply.py")
            if not ex.units:
                problem = FileProblem("no-code", ex.detail or "no Python code in the reply")
                out[row] = FileResult(inp.path, problem=problem)
                continue
            units = tuple(
                dataclasses.replace(u, role=role) if role is not None else u for u in ex.units
            )
            projects.append(_Project(units, tuple(u.path for u in units), (row,) * len(units)))
        else:
            files_project.append((CodeUnit.from_path(inp.path, inp.text, role), inp.name, row))
    if files_project:
        units, names, rows = zip(*files_project, strict=True)
        projects.insert(0, _Project(tuple(units), tuple(names), tuple(rows)))
    checked: list[tuple[int, CodeUnit]] = []
    per_row: dict[int, list[Finding]] = {}
    for project, results in zip(projects, _check_isolated(projects, ruleset), strict=True):
        for unit, row, result in zip(project.units, project.owners, results, strict=True):
            path = out[row].path
            if isinstance(result, WorkerDied):
                out[row] = FileResult(path, problem=FileProblem("check-error", str(result)))
            elif result.status == "check-error":
                problem = FileProblem("check-error", result.problem or "")
                out[row] = FileResult(path, problem=problem)
            elif result.parse_error is not None:
                err = result.parse_error
                line = err.line + unit.first_line - 1
                out[row] = FileResult(
                    path, problem=FileProblem("parse-error", err.message, line, err.col)
                )
            else:
                checked.append((row, unit))
                per_row.setdefault(row, []).extend(_on_reply(result.findings, unit))
    if selection.ruff_select and checked:
        found = run_ruff(
            [u for _, u in checked], selection.ruff_select, ignore=selection.ruff_ignore
        )
        for (row, unit), extra in zip(checked, found, strict=True):
            per_row.setdefault(row, []).extend(_on_reply(extra, unit))
    for row, findings in per_row.items():
        if out[row].problem is None:
            merged = sorted(findings, key=lambda f: (f.line, f.col, f.code))
            out[row] = FileResult(out[row].path, tuple(merged))
    return out


def _on_reply(findings: Sequence[Finding], unit: CodeUnit) -> list[Finding]:
    """Findings moved from the unit's lines to those of the file holding it."""
    shift = unit.first_line - 1
    if not shift:
        return list(findings)
    return [
        dataclasses.replace(f, line=f.line + shift, end_line=f.end_line + shift) for f in findings
    ]


def _check_project(projects: list[_Project], ruleset: RuleSet) -> list[list[CheckResult]]:
    return [check_units(p.units, ruleset, names=p.names) for p in projects]


def _check_units(units: list[CodeUnit], ruleset: RuleSet) -> list[CheckResult]:
    return [check_unit(u, ruleset) for u in units]


def _check_isolated(
    projects: list[_Project], ruleset: RuleSet
) -> list[list[CheckResult | WorkerDied]]:
    """Each project checked in a supervised worker process. When a project crashes or hangs
    the checker, its files are checked again one by one, without the project's context: a
    file that crashes the checker is reported as such, and the other files still are."""
    if not projects:
        return []
    worker = Worker(preload=("harness.code.engine",))
    try:
        out: list[list[CheckResult | WorkerDied]] = []
        for project in projects:
            timeout = 60.0 + ruleset.settings.unit_timeout * (1 + len(project.units))
            run = functools.partial(_check_project, ruleset=ruleset)
            (result,) = map_isolated(worker, run, [project], batch=1, timeout=timeout)
            if isinstance(result, WorkerDied):
                alone = functools.partial(_check_units, ruleset=ruleset)
                result = map_isolated(
                    worker,
                    alone,
                    list(project.units),
                    batch=32,
                    timeout=60.0 + ruleset.settings.unit_timeout,
                )
            out.append(result)
        return out
    finally:
        worker.close()


def format_text(results: Sequence[FileResult], verbosity: int = 0) -> str:
    """Findings and problems, one per line, then the summary. `verbosity` -1: the summary
    only; 1: also a line for each file that is clean."""
    if verbosity < 0:
        return summary_line(results) + "\n"
    lines: list[str] = []
    for res in results:
        if verbosity > 0 and res.problem is None and not res.findings:
            lines.append(f"{res.path}: ok")
        if res.problem is not None:
            p = res.problem
            lines.append(f"{res.path}:{p.line}:{p.col}: {p.kind}: {p.message}")
        for f in res.findings:
            lines.append(f"{res.path}:{f.line}:{f.col}: {f.code} [{f.name}] {f.message}")
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"


def summary_line(results: Sequence[FileResult]) -> str:
    n_findings = sum(len(r.findings) for r in results)
    n_problems = sum(r.problem is not None for r in results)
    n_files = len(results)
    files = f"{n_files} file{'s' if n_files != 1 else ''}"
    if not n_findings and not n_problems:
        return f"All checks passed ({files} checked)."
    parts = [f"{n_findings} finding{'s' if n_findings != 1 else ''}"]
    if n_problems:
        parts.append(f"{n_problems} file{'s' if n_problems != 1 else ''} not checked")
    return f"Found {', '.join(parts)} in {files}."


def format_json(results: Sequence[FileResult]) -> str:
    files = []
    for res in results:
        findings = [
            {k: v for k, v in asdict(f).items() if k not in ("path", "unit")} for f in res.findings
        ]
        files.append(
            {
                "path": res.path,
                "status": res.problem.kind if res.problem else "ok",
                "problem": asdict(res.problem) if res.problem else None,
                "findings": findings,
            }
        )
    summary = {
        "files": len(results),
        "findings": sum(len(r.findings) for r in results),
        "not_checked": sum(r.problem is not None for r in results),
    }
    return json.dumps({"files": files, "summary": summary}, indent=2) + "\n"


def format_sarif(results: Sequence[FileResult]) -> str:
    from harness.report.sarif import PARSE_ERROR, sarif_for_files

    pairs: list[tuple[str, Sequence[Finding]]] = []
    for res in results:
        findings = list(res.findings)
        if res.problem is not None:
            p = res.problem
            findings.append(
                Finding(PARSE_ERROR, PARSE_ERROR, p.message, p.line, p.col, p.line, p.col)
            )
        pairs.append((res.path, findings))
    return json.dumps(sarif_for_files(pairs), indent=2) + "\n"


def _validate_selectors(raw: Sequence[str]) -> None:
    """A selector that matches no rule is a typo: say so instead of silently running less."""
    from harness.code.rule import CodeRule
    from harness.registry import all_rules
    from harness.registry import select as select_rules

    code_rules = {c: r for c, r in all_rules().items() if issubclass(r, CodeRule)}
    for key in raw:
        if _is_ruff(key):
            continue
        if not select_rules(code_rules, [key], None):  # type: ignore[arg-type]
            raise click.BadParameter(
                f"{key!r} matches no code rule", param_hint="--select/--ignore"
            )


@click.command("check-code")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True, path_type=Path)
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--select", multiple=True, help="Codes or prefixes to run (EXC, PYD001, ruff:F).")
@click.option("--ignore", multiple=True, help="Codes or prefixes to skip (SQA004, ruff:B).")
@click.option("--no-ruff", is_flag=True, help="Do not run ruff.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    help="Treat every file as this role instead of inferring it from its path.",
)
@click.option("-q", "--quiet", is_flag=True, help="Text: print only the summary line.")
@click.option("-v", "--verbose", is_flag=True, help="Text: also list the clean files.")
@click.option(
    "--reply",
    is_flag=True,
    help="Read every file as a model's reply (its code blocks), whatever its suffix.",
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="harness.yaml")
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    no_ruff: bool,
    role: str | None,
    quiet: bool,
    verbose: bool,
    reply: bool,
    config_path: Path | None,
) -> None:
    """Check Python files, directories or model replies with the code rules and ruff.

    The Python files found form one project: a class's base, an imported schema or a
    `Base = declarative_base()` in another file is known where it is used. A `.md` or
    `.txt` file, `-` (stdin), or any file with `--reply` is read as a model's reply: its
    Python code blocks are checked as one project, and findings point at the reply's lines.

    Exit status: 0 clean, 1 findings or files that do not parse, 2 usage error or nothing
    to check (no Python file found, no code in any reply).
    """
    from harness.config import load_config

    config = load_config(config_path)
    sel_raw, ign_raw = _split_csv(select), _split_csv(ignore)
    selection = split_selection(
        sel_raw, ign_raw, config.rules.ruff_select, config.rules.ruff and not no_ruff
    )
    _validate_selectors([*sel_raw, *ign_raw])
    inputs = list(find_inputs(paths, reply=reply))
    if not inputs:
        where = ", ".join(p.as_posix() for p in paths)
        click.echo(f"error: no Python file found in {where}", err=True)
        ctx.exit(2)
    results = check_files(
        inputs, selection, role=Role(role) if role else None, settings=config.rules
    )
    if fmt == "text":
        text = format_text(results, -1 if quiet else 1 if verbose else 0)
    else:
        text = {"json": format_json, "sarif": format_sarif}[fmt](results)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        if fmt != "text":
            click.echo(summary_line(results), err=True)
    else:
        click.echo(text, nl=False)
    if all(r.problem is not None and r.problem.kind == "no-code" for r in results):
        click.echo("error: nothing was checked: no Python code in any reply", err=True)
        ctx.exit(2)
    failed = any(r.findings or r.problem for r in results)
    ctx.exit(1 if failed else 0)
