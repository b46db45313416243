"""The shipped integration files: the pre-commit hook runs, the workflow runs the gate."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_pre_commit_hook_lints_the_templates_it_is_given(tmp_path: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "harness-lint")
    files = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "prompt_templates").iterdir()
        if re.search(hook["files"], str(p.relative_to(ROOT)))
    )
    assert "prompt_templates/sqlalchemy_model.yaml" in files
    clean = [f for f in files if "conversational" not in f]
    argv = [*shlex.split(hook["entry"]), *clean]
    assert argv[0] == "harness"
    run = [sys.executable, "-m", "harness.cli", *argv[1:]]
    ok = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The deliberately conversational template fails the hook, with file:line findings.
    bad = subprocess.run(
        [*run, "prompt_templates/conversational.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert re.search(r"prompt_templates/conversational\.yaml:\d+:\d+: TPL00[78]", bad.stdout)


def test_workflow_lints_checks_and_posts_the_comment() -> None:
    flow = yaml.safe_load((ROOT / ".github/workflows/prompt-regression.yml").read_text())
    trigger = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads `on` as True
    paths = trigger["pull_request"]["paths"]
    assert "prompt_templates/**" in paths and "golden/**" in paths
    steps = [s.get("run", "") for s in flow["jobs"]["gate"]["steps"]]
    script = "\n".join(steps)
    assert "harness lint prompt_templates/ --format github" in script
    assert "harness check --comment-file reports/pr-comment.md" in script
    assert "gh pr comment" in script
