"""Checking replies: extract the code, run the rules and ruff, score. Pure functions of the
reply text and the template's expectations, so they run anywhere (thread, worker process)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from harness.code.engine import RuleSet, check_units
from harness.code.extract import extract
from harness.code.ruff import run_ruff
from harness.code.unit import Role
from harness.findings import Finding
from harness.record import RuleScore, UnitRecord, encode_fields
from harness.sample import Profile, score_sample
from harness.templates.spec import Expect, Provided


@dataclass(frozen=True, slots=True)
class CheckJob:
    reply: str
    finish_reason: str | None
    role: Role
    expect: Expect
    min_score: float
    path: str
    profile: Profile | None = None
    provides: tuple[Provided, ...] = ()  # rendered with the case's variables


@dataclass(frozen=True, slots=True)
class Checked:
    status: str
    score: float
    passed: bool
    applicable: tuple[str, ...]
    weights: dict[str, float]
    findings: tuple[Finding, ...]
    units: tuple[UnitRecord, ...]
    detail: str | None
    breakdown: tuple[RuleScore, ...] = ()
    lines: int = 0

    def fields(self) -> dict[str, object]:
        """The SampleResult fields this check decides (its dataclass fields share their names)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def encoded(self) -> dict[str, str]:
        """The checked fields of a SampleResult, encoded (`record.encode_fields`)."""
        return encode_fields(**self.fields())


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the main process keeps of a check: the status (for the tally) and the checked
    fields, already encoded, so a result line is string joining."""

    status: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What every reply to one template and case is checked against (sent to the worker
    once): the template's expectations, the house profile, the case's rendered `provides`."""

    role: Role
    expect: Expect
    min_score: float
    path: str
    profile: Profile | None = None
    provides: tuple[Provided, ...] = ()


# (reply, finish_reason, spec key): all a worker needs per reply, cheap to pickle. The key
# names a `JobSpec` (`spec_key(template, case)`).
Job = tuple[str, str | None, str]


def spec_key(template: str, case: str) -> str:
    return f"{template}\x1f{case}"


def check_verdicts(
    jobs: Sequence[Job],
    specs: dict[str, JobSpec],
    ruleset: RuleSet,
    ruff_select: Sequence[str] | None,
) -> list[Verdict]:
    """`check_batch` for compact jobs, each result as a `Verdict`."""
    full = [
        CheckJob(reply, finish, js.role, js.expect, js.min_score, js.path, js.profile, js.provides)
        for reply, finish, template in jobs
        for js in (specs[template],)
    ]
    return [Verdict(c.status, c.encoded()) for c in check_batch(full, ruleset, ruff_select)]


def check_batch(
    jobs: Sequence[CheckJob], ruleset: RuleSet, ruff_select: Sequence[str] | None
) -> list[Checked]:
    """Extract, check, ruff (one process for the whole batch) and score each job. Pure."""
    extractions = [
        extract(j.reply, role=j.role, default_path=j.path, finish_reason=j.finish_reason)
        for j in jobs
    ]
    results = [check_units(ex.units, ruleset) if ex.outcome == "code" else [] for ex in extractions]
    ruff_per_job: list[list[tuple]] = [[() for _ in rs] for rs in results]
    if ruff_select:
        where = [
            (i, k)
            for i, rs in enumerate(results)
            if rs and all(r.status == "ok" for r in rs)
            for k in range(len(rs))
        ]
        found = run_ruff([results[i][k].unit for i, k in where], ruff_select)
        for (i, k), fs in zip(where, found, strict=True):
            ruff_per_job[i][k] = fs
    out: list[Checked] = []
    for job, ex, rs, rf in zip(jobs, extractions, results, ruff_per_job, strict=True):
        sc = score_sample(
            rs,
            rf if ruff_select else (),
            job.expect,
            job.min_score,
            outcome=ex.outcome,
            detail=ex.detail or None,
            profile=job.profile,
            provides=job.provides,
        )
        units = tuple(
            UnitRecord(
                path=r.unit.path,
                source=r.unit.source,
                first_line=r.unit.first_line,
                parse_error=(
                    f"{r.parse_error.line}:{r.parse_error.col}: {r.parse_error.message}"
                    if r.parse_error
                    else None
                ),
            )
            for r in rs
        ) or tuple(
            UnitRecord(path=u.path, source=u.source, first_line=u.first_line) for u in ex.units
        )
        out.append(
            Checked(
                status=sc.status,
                score=sc.score,
                passed=sc.passed,
                applicable=sc.applicable,
                weights=dict(sc.weights),
                findings=tuple(
                    f if f.unit == i else dataclasses.replace(f, unit=i) for i, f in sc.findings
                ),
                units=units,
                detail=sc.detail,
                breakdown=sc.breakdown,
                lines=sum(u.source.count("\n") for u in units),
            )
        )
    return out


def crashed_verdict(job: Job, spec: JobSpec, reason: str) -> Verdict:
    """The verdict of a reply the checker died on: `check-error`, with the extracted code."""
    reply, finish, _ = job
    ex = extract(reply, role=spec.role, default_path=spec.path, finish_reason=finish)
    units = tuple(
        UnitRecord(path=u.path, source=u.source, first_line=u.first_line) for u in ex.units
    )
    checked = Checked(
        status="check-error",
        score=0.0,
        passed=False,
        applicable=(),
        weights={},
        findings=(),
        units=units,
        detail=f"could not be checked: {reason}",
    )
    return Verdict(checked.status, checked.encoded())
