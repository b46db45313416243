"""`harness rules [CODE_OR_NAME]`: list every rule, or print one rule's docs."""

from __future__ import annotations

import difflib
import json
import sys
from dataclasses import asdict, dataclass

import click

from harness.registry import Example, RuleBase, all_rules, by_name_or_code


@dataclass(frozen=True, slots=True)
class RuleRow:
    code: str
    name: str
    family: str
    severity: str
    message: str


def rule_row(rule: type[RuleBase]) -> RuleRow:
    return RuleRow(
        code=rule.code,
        name=rule.name,
        family=rule.family or rule.code[:3],
        severity=str(rule.severity),
        message=rule.message,
    )


def rule_docs(rule: type[RuleBase]) -> str:
    """The page `harness rules CODE` prints: heading, summary lines, then the docstring."""
    row = rule_row(rule)
    n_valid, n_invalid = len(rule.valid), len(rule.invalid)
    roles = sorted(str(r) for r in getattr(rule, "roles", ()))
    lines = [
        f"# {row.name} ({row.code})",
        "",
        f"Family: {row.family}. Severity: {row.severity}.",
    ]
    if roles:
        lines.append(f"Applies to roles: {', '.join(roles)}.")
    lines += [
        f"Message: {row.message}",
        f"Examples: {n_valid} valid, {n_invalid} invalid.",
        "",
        rule.docs(),
    ]
    return "\n".join(lines).rstrip() + "\n"


def suggestions(key: str, rules: dict[str, type[RuleBase]]) -> list[str]:
    """Codes and names close to `key`, best first."""
    candidates = {c.lower(): c for c in rules} | {r.name: r.name for r in rules.values()}
    close = difflib.get_close_matches(key.lower(), list(candidates), n=5, cutoff=0.6)
    return [candidates[c] for c in close]


def _examples_json(examples: tuple[Example | str, ...]) -> list[dict[str, object]]:
    return [asdict(ex if isinstance(ex, Example) else Example(ex)) for ex in examples]


def _plain_table(rows: list[RuleRow]) -> str:
    header = RuleRow("CODE", "NAME", "FAMILY", "SEVERITY", "MESSAGE")
    table = [header, *rows]
    widths = [
        max(len(getattr(r, f)) for r in table) for f in ("code", "name", "family", "severity")
    ]
    out = []
    for r in table:
        cells = [r.code, r.name, r.family, r.severity]
        out.append(
            "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + r.message
        )
    return "\n".join(line.rstrip() for line in out) + "\n"


def _rich_table(rows: list[RuleRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    table.add_column("Code", no_wrap=True)
    table.add_column("Name", overflow="fold")
    table.add_column("Family", no_wrap=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Message", min_width=30)
    for r in rows:
        table.add_row(r.code, r.name, r.family, r.severity, r.message)
    Console().print(table)


@click.command("rules")
@click.argument("key", required=False, metavar="[CODE_OR_NAME]")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def command(ctx: click.Context, key: str | None, fmt: str) -> None:
    """List every rule, or print the docs of one rule (`harness rules EXC002`)."""
    rules = all_rules()
    if key is None:
        rows = [rule_row(r) for r in rules.values()]
        if fmt == "json":
            click.echo(json.dumps([asdict(r) for r in rows], indent=2))
        elif sys.stdout.isatty():
            _rich_table(rows)
        else:
            click.echo(_plain_table(rows), nl=False)
        return
    rule = by_name_or_code(key)
    if rule is None:
        close = suggestions(key, rules)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        click.echo(f"error: unknown rule {key!r}.{hint}", err=True)
        click.echo("Run `harness rules` to list every rule.", err=True)
        ctx.exit(2)
        return
    if fmt == "json":
        data = {
            **asdict(rule_row(rule)),
            "docs": rule.docs(),
            "valid": _examples_json(rule.valid),
            "invalid": _examples_json(rule.invalid),
        }
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(rule_docs(rule), nl=False)
