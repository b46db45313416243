"""`harness init [DIR]`: a harness.yaml, one example template and .gitignore entries."""

from __future__ import annotations

from pathlib import Path

import click

CONFIG = """\
# yaml-language-server: $schema=schemas/config.json
# prompt-harness project config. `harness schema config` prints the full schema.
templates_dir: prompt_templates
reports_dir: reports
golden_dir: golden
store: .harness/store.sqlite
samples: 1

models:
  # Simulated models: offline, no key. Add real ones, e.g.
  #   - {alias: gpt4o, model: openai/gpt-4o}
  #   - {alias: claude, model: anthropic/claude-3-5-sonnet-latest}
  #   - {alias: local, model: ollama/qwen2.5-coder, api_base: "http://127.0.0.1:11434"}
  - {alias: careful, model: sim/careful}
  - {alias: sloppy, model: sim/sloppy}
"""

TEMPLATE = """\
# yaml-language-server: $schema=../schemas/template.json
id: pydantic_schemas
description: Pydantic v2 create, read and update schemas for one resource.

variables:
  entity:
    description: Resource name in PascalCase, e.g. `Invoice`.

template: |
  Write the Pydantic v2 schemas `{{ entity }}Create`, `{{ entity }}Update` and
  `{{ entity }}Read` for the `{{ entity }}` resource of a FastAPI service.

  RULES:
  - Use Pydantic v2 only: `model_config = ConfigDict(...)`, never `class Config`
  - Use UUID for all ids
  - Make every field of the update model optional with a `None` default

  Output only the code: one ```python block with the complete module, no explanations.

expect:
  role: schema
  provides:
    - {kind: pydantic-model, name: "{{ entity }}Create"}
    - {kind: pydantic-model, name: "{{ entity }}Update"}
    - {kind: pydantic-model, name: "{{ entity }}Read"}
  rules:
    - code: PYD001
      weight: 2
      instruction: "Use Pydantic v2 only: `model_config = ConfigDict(...)`, never `class Config`"
    - {code: IDS001, instruction: "Use UUID for all ids"}
    - code: PYD008
      instruction: "Make every field of the update model optional with a `None` default"
min_score: 80

cases:
  - name: invoice
    vars: {entity: Invoice}
"""

GITIGNORE = ("reports/", ".harness/")


@click.command("init")
@click.argument("directory", required=False, type=click.Path(path_type=Path), default=".")
def command(directory: Path) -> None:
    """Write harness.yaml, prompt_templates/pydantic_schemas.yaml, the JSON Schemas editors
    read (schemas/) and .gitignore entries into DIRECTORY (default: here). Existing files are
    never overwritten. Then `harness lint` and `harness evaluate` work there, offline, with
    the simulated models.

    Exit status: 0, or 2 when harness.yaml or the template already exists.
    """
    from harness.errors import ConfigError

    config = directory / "harness.yaml"
    template = directory / "prompt_templates" / "pydantic_schemas.yaml"
    for path in (config, template):
        if path.exists():
            raise ConfigError(f"{path} already exists", hint="init never overwrites a file")
    template.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG, encoding="utf-8")
    template.write_text(TEMPLATE, encoding="utf-8")
    ignore = directory / ".gitignore"
    have = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    missing = [entry for entry in GITIGNORE if entry not in have]
    if missing:
        with ignore.open("a", encoding="utf-8") as fh:
            if have and have[-1].strip():
                fh.write("\n")
            fh.write("\n".join(missing) + "\n")
    from harness.commands.schema import write_schemas

    schemas = write_schemas(directory / "schemas")
    for path in (config, template, *schemas):
        click.echo(f"wrote {path}")
    if missing:
        click.echo(f"added {', '.join(missing)} to {ignore}")
    click.echo("next: harness lint && harness evaluate")
