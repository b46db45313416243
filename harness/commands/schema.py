"""`harness schema template|config`: the JSON Schema editors use to complete and validate."""

from __future__ import annotations

import json
from pathlib import Path

import click


def schema_of(kind: str) -> dict:
    """The JSON Schema of the template format or of `harness.yaml`, from the pydantic models."""
    if kind == "template":
        from harness.templates.spec import TemplateSpec

        data = TemplateSpec.model_json_schema()
        data["title"] = "prompt-harness template"
    else:
        from harness.config import HarnessConfig

        data = HarnessConfig.model_json_schema()
        data["properties"].pop("root", None)
        data["title"] = "prompt-harness config (harness.yaml)"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **data}


def write_schemas(directory: Path) -> list[Path]:
    """`template.json` and `config.json` into `directory` (for the yaml-language-server)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in ("template", "config"):
        path = directory / f"{kind}.json"
        path.write_text(json.dumps(schema_of(kind), indent=2, sort_keys=True) + "\n")
        out.append(path)
    return out


@click.command("schema")
@click.argument("kind", type=click.Choice(["template", "config"]))
def command(kind: str) -> None:
    """Print the JSON Schema of the template format or of harness.yaml. The same schemas ship
    in the package (`harness/schemas/`)."""
    click.echo(json.dumps(schema_of(kind), indent=2, sort_keys=True))
