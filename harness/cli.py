"""The `harness` command line. Commands live in `harness/commands/` and load on demand,
so `harness lint` never pays for litellm or the report writers.

Exit codes (all commands): 0 ok, 1 findings / regression (or a refused golden update),
2 usage or config error (a template that cannot be loaded, nothing to check), 3 provider
errors prevented a result, 130 interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys

# pydantic's plugin discovery scans every installed distribution's entry points (~25 ms at
# each start); the CLI uses no pydantic plugins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from harness import __version__

COMMANDS: dict[str, tuple[str, str]] = {
    "lint": ("harness.commands.lint", "Lint prompt templates (TPL rules)."),
    "check-code": ("harness.commands.check_code", "Check Python files with code rules + ruff."),
    "rules": ("harness.commands.rules", "List rules, or print one rule's docs."),
    "evaluate": ("harness.commands.evaluate", "Run templates x cases x models and report."),
    "report": ("harness.commands.report", "Rebuild every report of a stored run."),
    "check": ("harness.commands.check", "Regression gate: compare with golden/."),
    "golden": ("harness.commands.golden", "Bless a run as the golden baseline."),
    "merge": ("harness.commands.merge", "Merge shard runs into one run."),
    "store": ("harness.commands.store", "Response store: stats, export, import."),
    "runs": ("harness.commands.runs", "List stored runs; prune old ones."),
    "view": ("harness.commands.view", "Serve a run's HTML report on 127.0.0.1."),
    "diff": ("harness.commands.diff", "Compare two stored runs with the gate's statistics."),
    "init": ("harness.commands.init", "Start a project: harness.yaml and an example template."),
    "schema": ("harness.commands.schema", "JSON Schema of the template format or the config."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        try:
            module = importlib.import_module(entry[0])
        except ModuleNotFoundError as exc:
            if exc.name == entry[0]:
                return None
            raise
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def cli() -> None:
    """prompt-harness: lint, run, check and gate prompt templates that generate backend code.

    Exit codes: 0 ok, 1 findings or a regression, 2 usage or config error, 3 provider errors
    prevented a result, 130 interrupted.
    """


def main(argv: list[str] | None = None) -> int:
    from harness.errors import HarnessError

    try:
        code = cli.main(args=argv, prog_name="harness", standalone_mode=False)
        # Without standalone mode, click returns the code of `ctx.exit(code)` instead of raising.
        if isinstance(code, int) and not isinstance(code, bool):
            return code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except HarnessError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
