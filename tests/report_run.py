"""A small run for the report tests: 2 templates x 3 models x 2 cases x 2 samples.

Findings come from the real engine (EXC002 only, so the numbers do not move as rules land),
scores from `harness.scoring.score_sample`. One reply carries an HTML/script payload.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from harness.code.engine import RuleSet, check_unit
from harness.code.rules.exc.bare_except import BareExcept
from harness.code.unit import CodeUnit
from harness.record import (
    ModelInfo,
    ResultsWriter,
    RunMeta,
    SampleResult,
    UnitRecord,
    Usage,
    iter_results,
)
from harness.sample import score_sample
from harness.scoring import RunSummary, aggregate
from harness.templates.spec import Expect

PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
TEMPLATES = ("pydantic-schema", "service-layer")
MODELS = ("careful", "sloppy", "chatty")
CASES = ("basic", "edge")
SIMULATED = {"careful": True, "sloppy": False, "chatty": False}
MIN_SCORE = 80.0

GOOD = '''"""Users."""
from app.repo import UserRepo


def load(repo: UserRepo, user_id: int):
    try:
        return repo.get(user_id)
    except KeyError:
        return None
'''

BAD = f'''"""Users."""
from app.repo import UserRepo
# {PAYLOAD}


def load(repo: UserRepo, user_id: int):
    try:
        return repo.get(user_id)
    except:
        repo.reset()
        raise
'''
BAD_LINE = next(i for i, line in enumerate(BAD.splitlines(), 1) if line.strip() == "except:")
XSS_CELL = ("service-layer", "sloppy", "edge", 0)
RULESET = RuleSet((BareExcept,))


def _kind(template: str, model: str, case: str, sample: int) -> str:
    """What each sample of the fixture is: good, bad, no-code, error or not-recorded."""
    if model == "careful":
        return "good"
    if model == "sloppy":
        if template == "service-layer":
            return "bad"
        return "good" if case == "basic" else "not-recorded"
    # chatty
    if (template, case, sample) == ("pydantic-schema", "basic", 1):
        return "no-code"
    if (template, case, sample) == ("service-layer", "basic", 1):
        return "error"
    if (template, case) == ("service-layer", "edge"):
        return "bad" if sample == 0 else "good"
    return "good"


def make_sample(template: str, model: str, case: str, sample: int) -> SampleResult:
    kind = _kind(template, model, case, sample)
    prompt = (
        {"role": "system", "content": "You write FastAPI backends."},
        {"role": "user", "content": f"Write the {template} for case {case}. Mind {PAYLOAD}"},
    )
    base = {
        "template": template,
        "template_hash": f"hash-{template}",
        "case": case,
        "model": model,
        "model_string": f"sim/{model}" if SIMULATED[model] else f"openai/{model}",
        "simulated": SIMULATED[model],
        "sample": sample,
        "key": f"{template}:{model}:{case}:{sample}",
        "prompt": prompt,
    }
    cost = None if SIMULATED[model] else 0.001 * (1 + MODELS.index(model))
    usage = Usage(
        prompt_tokens=120,
        completion_tokens=80,
        cost=cost,
        latency_ms=100.0 * (1 + MODELS.index(model)) + sample,
    )
    if kind == "error":
        return SampleResult(
            status="provider-error", error="RateLimitError: 429", usage=usage, **base
        )
    if kind == "not-recorded":
        return SampleResult(status="not-recorded", error="no recording", **base)
    if kind == "no-code":
        s = score_sample([], (), Expect(), MIN_SCORE, outcome="no-code", detail="no code block")
        return SampleResult(
            status=s.status,
            score=s.score,
            passed=s.passed,
            reply="Sorry, I cannot help with that.",
            detail=s.detail,
            usage=usage,
            **base,
        )
    source = BAD if kind == "bad" else GOOD
    unit = CodeUnit(source, path="generated.py")
    s = score_sample([check_unit(unit, RULESET)], (), Expect(), MIN_SCORE)
    reply = f"Here is the code.\n```python\n{source}```\n"
    if (template, model, case, sample) == XSS_CELL:
        reply = f"Sure! {PAYLOAD}\n{reply}"
    return SampleResult(
        status=s.status,
        score=s.score,
        passed=s.passed,
        applicable=s.applicable,
        weights=s.weights,
        findings=tuple(dataclasses.replace(f, unit=i) for i, f in s.findings),
        breakdown=s.breakdown,
        lines=unit.source.count("\n"),
        units=(UnitRecord(path=unit.path, source=unit.source),),
        reply=reply,
        usage=usage,
        **base,
    )


@dataclass(frozen=True)
class Run:
    run_dir: Path
    meta: RunMeta
    summary: RunSummary
    results_path: Path


def build_run(run_dir: Path, samples: int = 2) -> Run:
    results_path = run_dir / "results.jsonl"
    with ResultsWriter(results_path) as writer:
        for template in TEMPLATES:
            for model in MODELS:
                for case in CASES:
                    for sample in range(samples):
                        writer.write(make_sample(template, model, case, sample))
    meta = RunMeta(
        run_id="20250101-120000-test",
        harness_version="0.1.0",
        git_commit="0123456789abcdef0123",
        started_at="2025-01-01T12:00:00Z",
        finished_at="2025-01-01T12:01:00Z",
        templates={t: f"hash-{t}" for t in TEMPLATES},
        min_scores=dict.fromkeys(TEMPLATES, MIN_SCORE),
        models=tuple(
            ModelInfo(
                alias=m, model=f"sim/{m}" if SIMULATED[m] else f"openai/{m}", simulated=SIMULATED[m]
            )
            for m in MODELS
        ),
        samples=samples,
    )
    summary = aggregate(iter_results(results_path), meta.min_scores)
    return Run(run_dir, meta, summary, results_path)
