"""Run metadata: the run id and directory, the git commit, and the config as recorded in
run.json, without secrets."""

from __future__ import annotations

import secrets
import shlex
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import __version__
from harness.config import HarnessConfig, ModelConfig
from harness.credentials import strip_url
from harness.plan import Selection
from harness.record import ModelInfo, RunMeta
from harness.shard import Shard
from harness.templates.spec import TemplateSpec


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def git_commit(directory: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value if out.returncode == 0 and value else None


def config_snapshot(config: HarnessConfig, models: Sequence[ModelConfig]) -> dict[str, Any]:
    """The config as recorded in run.json: no secrets (params cannot hold keys; URLs lose
    their user info and query string), the models actually run."""
    data = config.model_dump(mode="json", exclude={"root"})
    data["models"] = [
        {
            "alias": m.alias,
            "model": m.model,
            "api_base": strip_url(m.api_base),
            "params": dict(m.params),
            "max_concurrency": m.max_concurrency,
            "rpm": m.rpm,
            "samples": m.samples,
        }
        for m in models
    ]
    return data


def run_dir_for(config: HarnessConfig, out: Path | None, run_id: str) -> Path:
    base = out if out is not None else config.path(config.reports_dir)
    return Path(base) / run_id


def resume_command(run_id: str, extra: Sequence[str] = ()) -> str:
    return shlex.join(["harness", "evaluate", "--resume", run_id, *extra])


def build_meta(
    config: HarnessConfig,
    run_id: str,
    specs: Sequence[TemplateSpec],
    hashes: dict[str, str],
    models: Sequence[ModelConfig],
    sel: Selection,
    shard: Shard | None,
    offline_models: frozenset[str],
    *,
    started_at: str | None,
    counts: dict[str, int],
) -> RunMeta:
    """run.json of a run as it starts (or restarts, keeping its start time)."""
    return RunMeta(
        run_id=run_id,
        harness_version=__version__,
        git_commit=git_commit(config.path(config.templates_dir)),
        started_at=started_at or datetime.now(UTC).isoformat(),
        templates=dict(hashes),
        min_scores={s.id: s.min_score for s in specs},
        models=tuple(
            ModelInfo(alias=m.alias, model=m.model, simulated=m.simulated) for m in models
        ),
        samples=sel.samples or config.samples,
        offline=bool(offline_models),
        shard=str(shard) if shard is not None else None,
        config={
            **config_snapshot(config, models),
            "selection": {
                "templates": [s.id for s in specs] if sel.templates else list(sel.templates),
                "models": list(sel.models),
                "cases": list(sel.cases),
                "tags": list(sel.tags),
                "samples": sel.samples,
            },
            "offline_models": sorted(offline_models),
        },
        counts=counts,
    )
