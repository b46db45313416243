"""Planning a run: which templates, cases and models (the selection), and the matrix of cells
(template x case x model) whose samples become requests. Pure, apart from loading templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.code.unit import Role
from harness.config import HarnessConfig, ModelConfig
from harness.credentials import find_credentials
from harness.errors import ConfigError, TemplateError
from harness.llm.types import Request
from harness.record import encode_fields
from harness.shard import Shard
from harness.templates.spec import Case, TemplateSpec


@dataclass(frozen=True)
class Selection:
    """What to run. Empty tuples mean "everything"."""

    templates: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    cases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    samples: int | None = None


@dataclass(frozen=True, slots=True)
class Cell:
    """One (template, case, model): what every sample of it shares."""

    spec: TemplateSpec
    template_hash: str
    case: Case
    model: ModelConfig
    role: Role
    prompt: tuple[dict[str, str], ...]
    params: dict[str, Any]
    samples: int
    offline: bool  # answer from the store only
    head: dict[str, str]  # the cell's SampleResult fields, encoded (`record.encode_fields`)


@dataclass(frozen=True, slots=True)
class Tag:
    cell: Cell
    sample: int


def resolve_models(config: HarnessConfig, names: Sequence[str]) -> tuple[ModelConfig, ...]:
    """Aliases from the config, or ad-hoc litellm strings (`openai/gpt-4o`, `sim/careful`)."""
    if not names:
        if not config.models:
            raise ConfigError(
                "no models configured",
                hint="add `models:` to harness.yaml, or pass --models sim/careful,sim/sloppy",
            )
        return config.models
    out: list[ModelConfig] = []
    for name in names:
        found = next((m for m in config.models if m.alias == name), None)
        if found is None:
            found = next((m for m in config.models if m.model == name), None)
        if found is None:
            if "/" not in name:
                config.model(name)  # raises with the list of configured aliases
            found = ModelConfig.model_construct(alias=name, model=name)
        if found not in out:
            out.append(found)
    return tuple(out)


def select_templates(config: HarnessConfig, sel: Selection) -> tuple[TemplateSpec, ...]:
    from harness.templates.loader import load_templates

    root = config.path(config.templates_dir)
    if not root.exists():
        raise ConfigError(
            f"templates directory not found: {root}", hint="set templates_dir in harness.yaml"
        )
    loaded = load_templates([root])
    specs = loaded.specs
    if loaded.errors and (not sel.templates or len(specs) < len(sel.templates)):
        raise loaded.errors[0]
    if sel.templates:
        known = {s.id: s for s in specs}
        missing = [t for t in sel.templates if t not in known]
        if missing:
            raise ConfigError(
                f"unknown template {missing[0]!r}", hint=f"templates: {', '.join(sorted(known))}"
            )
        specs = tuple(known[t] for t in sel.templates)
    if sel.tags:
        specs = tuple(s for s in specs if set(s.tags) & set(sel.tags))
    if sel.cases:
        all_cases = {c.name for s in specs for c in s.cases}
        missing = [c for c in sel.cases if c not in all_cases]
        if missing:
            raise ConfigError(
                f"unknown case {missing[0]!r}", hint=f"cases: {', '.join(sorted(all_cases))}"
            )
    if not specs:
        raise ConfigError("no templates selected", path=str(root))
    for spec in specs:
        found = next(iter(find_credentials(spec.params.model_dump(mode="json"))), None)
        if found is not None:
            line, col = spec.line_of(f"params.{found}")
            raise TemplateError(
                f"template params carry a credential: `{found}`",
                path=spec.path,
                line=line,
                col=col,
                hint="remove it; litellm reads keys from the environment (see TPL014)",
            )
    ids = [s.id for s in specs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise TemplateError(f"duplicate template id {dup[0]!r}", path=str(root))
    return specs


def has_key(model: ModelConfig) -> bool:
    """Whether litellm finds what it needs to call `model` (keys in the environment)."""
    if model.simulated:
        return True
    from harness.llm import load_litellm

    try:
        env = load_litellm().validate_environment(model=model.model, api_base=model.api_base)
    except Exception:
        return True  # unknown to litellm's check: let the call say what is wrong
    missing = [
        k for k in env.get("missing_keys", ()) if not (model.api_base and k.endswith("_BASE"))
    ]
    return not missing


def samples_for(
    sel: Selection, spec: TemplateSpec, model: ModelConfig, config: HarnessConfig
) -> int:
    return sel.samples or spec.samples or model.samples or config.samples


def plan_cells(
    config: HarnessConfig,
    specs: Sequence[TemplateSpec],
    models: Sequence[ModelConfig],
    sel: Selection,
    offline_models: frozenset[str],
    hashes: dict[str, str] | None = None,
) -> list[Cell]:
    from harness.templates.render import render, render_provides

    cells: list[Cell] = []
    for spec in specs:
        digest = hashes[spec.id] if hashes is not None else spec.content_hash()
        role = Role(spec.expect.role) if spec.expect.role else Role.OTHER
        for case in spec.cases:
            if sel.cases and case.name not in sel.cases:
                continue
            rendered = render(spec, case)
            prompt = tuple(m.as_dict() for m in rendered.messages)
            task = sim_task(spec, render_provides(spec, case))
            for model in models:
                head = encode_fields(
                    template=spec.id,
                    template_hash=digest,
                    case=case.name,
                    model=model.alias,
                    model_string=model.model,
                    simulated=model.simulated,
                    prompt=prompt,
                )
                cells.append(
                    Cell(
                        spec=spec,
                        template_hash=digest,
                        case=case,
                        model=model,
                        role=role,
                        prompt=prompt,
                        params={**rendered.params, **task}
                        if model.simulated
                        else dict(rendered.params),
                        samples=samples_for(sel, spec, model, config),
                        offline=model.alias in offline_models,
                        head=head,
                    )
                )
    return cells


def sim_task(spec: TemplateSpec, provides: Sequence[Any]) -> dict[str, Any]:
    """What a simulated model is told besides the prompt, as request params: the
    instruction each rule is linked to, and what the code must provide. (A real model gets
    only the prompt.)"""
    links = {r.code: r.instruction for r in spec.expect.rules if r.instruction}
    items = [p.model_dump(exclude_none=True) for p in provides]
    return {"sim_links": links, "sim_provides": items}


def make_request(cell: Cell, sample: int) -> Request:
    params = cell.params
    if cell.model.simulated:
        from harness.llm import sim

        params = {**params, **sim.request_params(sample)}
    return Request.make(cell.model, cell.prompt, params, sample, tag=Tag(cell, sample))


def owned(cell: Cell, sample: int, shard: Shard | None) -> bool:
    """Whether this run's shard (every sample, without one) owns a sample of `cell`."""
    return shard is None or shard.owns(cell.spec.id, cell.case.name, cell.model.alias, sample)


def count_planned(cells: Sequence[Cell], shard: Shard | None) -> int:
    return sum(1 for c in cells for i in range(c.samples) if owned(c, i, shard))
