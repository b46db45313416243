"""Merge shard runs into one run: the merged run reports and gates like a single one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from harness import __version__
from harness.errors import ConfigError
from harness.record import (
    ModelInfo,
    ResultsWriter,
    RunMeta,
    iter_results,
    read_meta,
    write_meta,
)


def merge_runs(run_dirs: Sequence[Path], out_dir: Path, run_id: str) -> RunMeta:
    """Concatenate shard results (deduplicated by sample identity) under `out_dir`."""
    if not run_dirs:
        raise ConfigError("nothing to merge", hint="harness merge RUN_DIR [RUN_DIR ...]")
    metas: list[RunMeta] = []
    for d in run_dirs:
        if not (d / "run.json").exists():
            raise ConfigError("not a run directory (no run.json)", path=str(d))
        metas.append(read_meta(d))
    templates: dict[str, str] = {}
    min_scores: dict[str, float] = {}
    models: dict[str, ModelInfo] = {}
    for d, meta in zip(run_dirs, metas, strict=True):
        for tid, digest in meta.templates.items():
            if templates.setdefault(tid, digest) != digest:
                raise ConfigError(
                    f"template {tid!r} differs between shards",
                    path=str(d / "run.json"),
                    hint="every shard must run the same commit of prompt_templates/",
                )
        min_scores.update(meta.min_scores)
        for m in meta.models:
            models.setdefault(m.alias, m)
    _check_shards(run_dirs, metas)
    out_dir.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[str, str, str, int]] = set()
    counts: dict[str, int] = {}
    with ResultsWriter(out_dir / "results.jsonl") as writer:
        for d in run_dirs:
            for r in iter_results(d / "results.jsonl"):
                ident = (r.template, r.case, r.model, r.sample)
                if ident in seen:
                    continue
                seen.add(ident)
                counts[r.status] = counts.get(r.status, 0) + 1
                writer.write(r)
    first = metas[0]
    merged = RunMeta(
        run_id=run_id,
        harness_version=__version__,
        git_commit=first.git_commit,
        started_at=min(m.started_at for m in metas),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        templates=dict(sorted(templates.items())),
        min_scores=dict(sorted(min_scores.items())),
        models=tuple(models[a] for a in sorted(models)),
        samples=max(m.samples for m in metas),
        merged_from=tuple(m.run_id for m in metas),
        offline=all(m.offline for m in metas),
        config=first.config,
        counts=counts,
    )
    write_meta(out_dir, merged)
    return merged


def _check_shards(run_dirs: Sequence[Path], metas: Sequence[RunMeta]) -> None:
    """Shards 1..N of one split, each exactly once, run with the same config: else refuse."""
    labels = [m.shard for m in metas]
    if not any(labels):
        return
    if not all(labels):
        plain = next(d for d, m in zip(run_dirs, metas, strict=True) if not m.shard)
        raise ConfigError(
            "not a shard run (no --shard): it cannot be merged with shards", path=str(plain)
        )
    totals = {int(str(label).split("/")[1]) for label in labels}
    if len(totals) > 1:
        raise ConfigError(f"shards from different splits: {', '.join(map(str, labels))}")
    total = totals.pop()
    seen: dict[int, Path] = {}
    for d, label in zip(run_dirs, labels, strict=True):
        index = int(str(label).split("/")[0])
        if index in seen:
            raise ConfigError(
                f"shard {index}/{total} given twice: {seen[index]} and {d}",
                hint="give each shard's run directory once",
            )
        seen[index] = d
    missing = [f"{i}/{total}" for i in range(1, total + 1) if i not in seen]
    if missing:
        raise ConfigError(
            f"missing shard(s) {', '.join(missing)} of {total}",
            hint="merge every shard of the split: harness merge RUN_1 ... RUN_N",
        )
    configs = {json.dumps(_comparable(m.config), sort_keys=True, default=str) for m in metas}
    if len(configs) > 1:
        raise ConfigError(
            "shards were run with different configs",
            hint="run every shard with the same harness.yaml and options",
        )


def _comparable(config: dict[str, object]) -> dict[str, object]:
    """The config a run records, without what differs between shards by design."""
    out = dict(config)
    selection = out.get("selection")
    if isinstance(selection, dict):
        out["selection"] = {k: v for k, v in selection.items() if k != "shard"}
    return out
