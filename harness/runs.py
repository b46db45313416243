"""Stored runs under `reports/`: listing, the `latest` pointer, pruning, and finding a run by
id. Only run directories (holding `run.json`) are ever touched."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError
from harness.record import read_meta

LATEST = "latest"


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    path: Path
    started_at: str
    finished: bool
    models: tuple[str, ...]
    templates: tuple[str, ...]
    mean_score: float | None  # over every scored sample, from summary.json


def _is_run(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / "run.json").is_file()


def list_runs(reports: Path) -> list[RunInfo]:
    """Every run under `reports`, newest first."""
    out = []
    for path in reports.iterdir() if reports.is_dir() else ():
        if not _is_run(path):
            continue
        try:
            meta = read_meta(path)
        except (OSError, ValueError):
            continue
        out.append(
            RunInfo(
                meta.run_id,
                path,
                meta.started_at,
                meta.finished_at is not None,
                tuple(m.alias for m in meta.models),
                tuple(sorted(meta.templates)),
                _mean_score(path),
            )
        )
    return sorted(out, key=lambda r: (r.started_at, r.run_id), reverse=True)


def _mean_score(run: Path) -> float | None:
    try:
        data = json.loads((run / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    stats = data.get("model_stats") or []
    scored = [(m.get("mean_score"), m.get("n_scored") or 0) for m in stats]
    total = sum(n for s, n in scored if s is not None)
    if not total:
        return None
    return sum(s * n for s, n in scored if s is not None) / total


def set_latest(reports: Path, run_dir: Path) -> None:
    """Point `reports/latest` at `run_dir` (a symlink; a file holding the id where links are
    not allowed)."""
    link = reports / LATEST
    try:
        if link.is_symlink() or link.is_file():
            link.unlink()
        link.symlink_to(run_dir.name, target_is_directory=True)
    except OSError:
        link.write_text(run_dir.name + "\n", encoding="utf-8")


def latest(reports: Path) -> Path | None:
    """The run `reports/latest` points at, else the newest run."""
    link = reports / LATEST
    if link.is_symlink() and _is_run(link.resolve()):
        return link.resolve()
    if link.is_file():
        target = reports / link.read_text(encoding="utf-8").strip()
        if _is_run(target):
            return target
    runs = list_runs(reports)
    return runs[0].path if runs else None


def resolve_run(reports: Path, name: str | Path | None) -> Path:
    """A run directory from a path, a run id under `reports`, or None for the latest."""
    if name is None:
        found = latest(reports)
        if found is None:
            raise ConfigError(
                f"no run under {reports}", hint="run `harness evaluate` first, or name a run"
            )
        return found
    path = Path(name)
    for candidate in (path, reports / str(name)):
        if (candidate / "run.json").is_file():
            return candidate
    raise ConfigError(f"no run {name!r} (no run.json)", hint="`harness runs` lists the runs")


def prune(reports: Path, keep: int) -> list[RunInfo]:
    """Delete all but the `keep` newest runs (never the one `latest` points at)."""
    runs = list_runs(reports)
    current = latest(reports)
    doomed = [r for r in runs[keep:] if current is None or r.path.resolve() != current.resolve()]
    for run in doomed:
        shutil.rmtree(run.path)
    return doomed
