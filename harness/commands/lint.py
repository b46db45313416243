"""`harness lint [PATHS...]`: lint prompt templates with the TPL rules.

Stays light: no litellm (unless a token count is needed), no rich, no libcst, no code rules.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import click

from harness.errors import TemplateError
from harness.findings import Finding, Severity


def _rel(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _split_codes(values: Sequence[str]) -> list[str]:
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def _error_dict(exc: TemplateError) -> dict[str, object]:
    return {
        "path": _rel(exc.path or ""),
        "line": exc.line or 1,
        "col": exc.col or 1,
        "message": exc.message,
        "hint": exc.hint,
    }


def _finding_dict(f: Finding) -> dict[str, object]:
    return {
        "path": _rel(f.path),
        "line": f.line,
        "col": f.col,
        "code": f.code,
        "name": f.name,
        "severity": f.severity.value,
        "message": f.message,
    }


def _github_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_prop(text: str) -> str:
    return _github_escape(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _sarif(findings: Sequence[Finding], errors: Sequence[TemplateError]) -> dict:
    """SARIF 2.1.0: one result per finding, and per template that cannot be loaded."""
    from harness.report.sarif import PARSE_ERROR, sarif_for_files

    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(_rel(f.path), []).append(f)
    for exc in errors:
        d = _error_dict(exc)
        line, col = int(d["line"]), int(d["col"])  # type: ignore[call-overload]
        error = Finding(PARSE_ERROR, PARSE_ERROR, exc.message, line, col, line, col)
        by_path.setdefault(str(d["path"]), []).append(error)
    return sarif_for_files(sorted(by_path.items()))


def _print(
    fmt: str,
    findings: Sequence[Finding],
    errors: Sequence[TemplateError],
    checked: int,
    verbosity: int = 0,
) -> None:
    if fmt == "json":
        data = {
            "templates": checked,
            "errors": [_error_dict(e) for e in errors],
            "findings": [_finding_dict(f) for f in findings],
        }
        click.echo(json.dumps(data, indent=2))
        return
    if fmt == "sarif":
        click.echo(json.dumps(_sarif(findings, errors), indent=2))
        return
    for exc in errors:
        d = _error_dict(exc)
        if fmt == "github":
            props = f"file={_github_prop(str(d['path']))},line={d['line']},col={d['col']}"
            click.echo(f"::error {props},title=template error::{_github_escape(exc.message)}")
        else:
            click.echo(f"{d['path']}:{d['line']}:{d['col']}: error: {exc.message}")
            if exc.hint:
                click.echo(f"  hint: {exc.hint}")
    for f in findings:
        if fmt == "github":
            props = f"file={_github_prop(_rel(f.path))},line={f.line},col={f.col}"
            level = _GITHUB_LEVEL[f.severity]
            click.echo(f"::{level} {props},title={f.code}::{_github_escape(f.message)}")
        else:
            name = f" [{f.name}]" if verbosity > 0 else ""
            click.echo(f"{_rel(f.path)}:{f.line}:{f.col}: {f.code} {f.severity}: {f.message}{name}")
    if fmt == "text" and verbosity >= 0:
        problems = len(findings) + len(errors)
        summary = f"{checked} template(s) checked, {problems} problem(s)"
        if errors:
            summary += f" ({len({e.path for e in errors})} could not be loaded)"
        click.echo(summary, err=True)


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--fail-level",
    type=click.Choice(["error", "warning", "info"]),
    default=None,
    help="Lowest severity that fails the run (default: config lint.fail_level).",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
@click.option("-v", "--verbose", is_flag=True, help="Name each finding's rule.")
@click.option("--select", multiple=True, help="Only these codes / prefixes / names (comma list).")
@click.option("--ignore", multiple=True, help="Skip these codes / prefixes / names (comma list).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: harness.yaml found upwards from the current directory).",
)
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    fail_level: str | None,
    quiet: bool,
    verbose: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_path: Path | None,
) -> None:
    """Lint prompt templates (default: the config's templates_dir).

    Exit codes: 0 clean, 1 findings at or above the fail level, 2 usage or config error, or
    a template that cannot be loaded (malformed YAML, a schema error, a case value of the
    wrong type, a duplicate id). Every load error is printed, each with file:line:col.
    """
    from harness.config import load_config
    from harness.templates.lint.base import LintSettings
    from harness.templates.lint.engine import lint_spec, template_rules
    from harness.templates.loader import load_templates

    config = load_config(config_path)
    targets = list(paths) or [config.path(config.templates_dir)]
    for target in targets:
        if not target.exists():
            raise click.BadParameter(f"{target} does not exist", param_hint="PATHS")
    selected = _split_codes(select)
    for key in [*selected, *_split_codes(ignore)]:
        if not _matches_template_rule(key):
            raise click.BadParameter(
                f"no template rule matches {key!r}", param_hint="--select/--ignore"
            )
    rules = template_rules(selected, _split_codes(ignore) + list(config.lint.ignore))

    result = load_templates(targets, exclude=config.lint.exclude)
    settings = LintSettings(
        token_budget=config.lint.token_budget,
        models=tuple(m.model for m in config.models),
    )
    findings: list[Finding] = []
    for spec in result.specs:
        findings.extend(lint_spec(spec, rules, settings))
    checked = len(result.specs) + len({e.path for e in result.errors})
    if checked == 0:
        click.echo("no templates found (*.yaml, *.yml, *.prompty)", err=True)

    _print(fmt, findings, result.errors, checked, -1 if quiet else 1 if verbose else 0)
    level = Severity(fail_level or config.lint.fail_level)
    failing = [f for f in findings if f.severity.rank >= level.rank]
    ctx.exit(2 if result.errors else 1 if failing else 0)


def _matches_template_rule(key: str) -> bool:
    """Whether a code prefix (`TPL`, `TPL00`), a code or a name matches a template rule."""
    from harness.registry import TEMPLATE_RULES, all_rules

    rules = all_rules(TEMPLATE_RULES)
    return any(c.startswith(key.upper()) or r.name == key for c, r in rules.items())
