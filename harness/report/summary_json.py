"""summary.json: the RunSummary as JSON (run.json, the metadata, is written by evaluate)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.record import RunMeta
from harness.scoring import RunSummary


def write_summary_json(path: Path, meta: RunMeta, summary: RunSummary) -> Path:
    data = {
        "run_id": meta.run_id,
        "schema_version": meta.schema_version,
        **summary.to_dict(scores=False),
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
