"""SARIF 2.1.0 for code scanning: findings in files (`check-code`) or in generated code (runs).

Rule metadata comes from the registry docs, so the help shown in a code-scanning UI is the
same text `harness rules CODE` prints. Generated code has no file on disk: each unit becomes a
virtual artifact `generated/<template>/<model>/<case>-<sample>.py` whose contents carry the
code, so viewers can show the finding in context.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, Any
from urllib.parse import quote

from harness import __version__
from harness.findings import Finding, Severity
from harness.record import RunMeta, SampleResult, iter_results
from harness.registry import DOC_SECTIONS, RuleBase, all_rules

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "prompt-harness"
# Code of the result for a unit that does not parse (not a rule: nothing to select or ignore).
PARSE_ERROR = "parse-error"
RUFF_DOCS = "https://docs.astral.sh/ruff/rules/"

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_NOTIFY_LEVELS = {
    "no-code": "warning",
    "truncated": "warning",
    "provider-error": "error",
    "not-recorded": "note",
}
_UNSAFE_SEGMENT = re.compile(r"[^\w.+-]+")
_PARSE_POS = re.compile(r"(?:line\s+|^)(\d+)(?::(\d+)|,?\s*col(?:umn)?\s+(\d+))?")


@dataclass(frozen=True, slots=True)
class _Rule:
    code: str
    name: str
    severity: Severity


@dataclass(slots=True)
class _Log:
    """Accumulates one SARIF run; rules are indexed once all results are known."""

    artifacts: list[dict[str, Any]] = field(default_factory=list)
    artifact_index: dict[str, int] = field(default_factory=dict)
    results: list[tuple[_Rule, dict[str, Any]]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def artifact(self, uri: str, text: str | None = None) -> int:
        index = self.artifact_index.get(uri)
        if index is None:
            index = len(self.artifacts)
            self.artifacts.append(_artifact_entry(uri, text))
            self.artifact_index[uri] = index
        return index

    def result(
        self,
        rule: _Rule,
        message: str,
        artifact: int,
        region: dict[str, int],
        properties: dict[str, Any] | None = None,
    ) -> None:
        uri = self.artifacts[artifact]["location"]["uri"]
        body = _result_body(rule, message, uri, artifact, region, properties)
        self.results.append((rule, body))

    def build(self, version: str, extra_run: dict[str, Any] | None = None) -> dict[str, Any]:
        rules = sorted({r for r, _ in self.results}, key=lambda r: r.code)
        index = {r.code: i for i, r in enumerate(rules)}
        results = [
            {"ruleId": rule.code, "ruleIndex": index[rule.code], **body}
            for rule, body in self.results
        ]
        driver = {
            "name": TOOL_NAME,
            "version": version,
            "rules": [_descriptor(r) for r in rules],
        }
        invocation: dict[str, Any] = {
            "executionSuccessful": not any(n["level"] == "error" for n in self.notifications)
        }
        if self.notifications:
            invocation["toolExecutionNotifications"] = self.notifications
        run: dict[str, Any] = {
            "tool": {"driver": driver},
            "invocations": [invocation],
            "artifacts": self.artifacts,
            "results": results,
            "columnKind": "unicodeCodePoints",
        }
        run.update(extra_run or {})
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _artifact_entry(uri: str, text: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"location": {"uri": uri}, "sourceLanguage": "python"}
    if text is not None:
        entry["contents"] = {"text": text}
    return entry


def _result_body(
    rule: _Rule,
    message: str,
    uri: str,
    artifact: int,
    region: dict[str, int],
    properties: dict[str, Any] | None,
) -> dict[str, Any]:
    location = {
        "physicalLocation": {
            "artifactLocation": {"uri": uri, "index": artifact},
            "region": region,
        }
    }
    body: dict[str, Any] = {
        "level": _LEVELS[rule.severity],
        "message": {"text": message},
        "locations": [location],
    }
    if properties:
        body["properties"] = properties
    return body


def sarif_for_files(results: Sequence[tuple[str, Sequence[Finding]]]) -> dict[str, Any]:
    """A SARIF log for findings in files on disk: one (path, findings) pair per file.

    A parse error is a Finding whose code is `PARSE_ERROR`.
    """
    log = _Log()
    for path, findings in results:
        artifact = log.artifact(_file_uri(path))
        for f in findings:
            log.result(_Rule(f.code, f.name, f.severity), f.message, artifact, _region(f))
    return log.build(__version__)


def sarif_for_run(meta: RunMeta, results: Iterable[SampleResult]) -> dict[str, Any]:
    """A SARIF log for a run: findings located in virtual artifacts holding the generated code.

    Builds the whole log in memory: for small runs and tests. `write_sarif_run` writes the same
    log, byte for byte, from results.jsonl without holding it.
    """
    log = _Log()
    for sample in results:
        artifacts = [log.artifact(uri, text) for uri, text in _sample_artifacts(sample)]
        for rule, message, unit, region, props in _sample_results(sample):
            log.result(rule, message, artifacts[unit], region, props)
        note = _notification(sample)
        if note is not None:
            log.notifications.append(note)
    return log.build(meta.harness_version or __version__, _run_extra(meta))


def write_sarif_run(path: Path, meta: RunMeta, results_path: Path) -> Path:
    """Write the SARIF log of a run to `path`, streaming results.jsonl twice.

    The output is what `json.dumps(sarif_for_run(...), indent=2)` gives, but memory stays flat:
    the first pass writes the artifacts (and notifications) to spool files and collects the
    rules; the second writes the results, which need the rules' indices. Only the artifact
    index (one entry per generated file) and the set of rules are kept.
    """
    artifact_index: dict[str, int] = {}
    rules: set[_Rule] = set()
    notes_error = False
    tmp = path.with_name(path.name + ".tmp")
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as artifacts_spool,
        tempfile.TemporaryFile("w+", encoding="utf-8") as notes_spool,
    ):
        artifacts_out = _JsonArray(artifacts_spool, 3)
        notes_out = _JsonArray(notes_spool, 5)
        for sample in iter_results(results_path):
            for uri, text in _sample_artifacts(sample):
                if uri not in artifact_index:
                    artifact_index[uri] = len(artifact_index)
                    artifacts_out.add(_artifact_entry(uri, text))
            rules.update(r[0] for r in _sample_results(sample))
            note = _notification(sample)
            if note is not None:
                notes_error = notes_error or note["level"] == "error"
                notes_out.add(note)
        ordered = sorted(rules, key=lambda r: r.code)
        rule_index = {r.code: i for i, r in enumerate(ordered)}

        with tmp.open("w", encoding="utf-8") as out:
            out.write(f'{{\n  "$schema": {_dump(SARIF_SCHEMA)},\n')
            out.write(f'  "version": {_dump(SARIF_VERSION)},\n  "runs": [\n    {{\n')
            driver = {
                "name": TOOL_NAME,
                "version": meta.harness_version or __version__,
                "rules": [_descriptor(r) for r in ordered],
            }
            out.write(f'      "tool": {_dump({"driver": driver}, 3)},\n')
            out.write('      "invocations": [\n        {\n')
            out.write(f'          "executionSuccessful": {_dump(not notes_error)}')
            if notes_out.count:
                out.write(',\n          "toolExecutionNotifications": ')
                _copy(notes_spool, notes_out, out)
            out.write("\n        }\n      ],\n")
            out.write('      "artifacts": ')
            _copy(artifacts_spool, artifacts_out, out)
            out.write(',\n      "results": ')
            results_out = _JsonArray(out, 3)
            for sample in iter_results(results_path):
                units = _sample_artifacts(sample)
                for rule, message, unit, region, props in _sample_results(sample):
                    uri = units[unit][0]
                    body = _result_body(rule, message, uri, artifact_index[uri], region, props)
                    results_out.add(
                        {"ruleId": rule.code, "ruleIndex": rule_index[rule.code], **body}
                    )
            results_out.close()
            out.write(f',\n      "columnKind": {_dump("unicodeCodePoints")}')
            for key, value in _run_extra(meta).items():
                out.write(f",\n      {_dump(key)}: {_dump(value, 3)}")
            out.write("\n    }\n  ]\n}\n")
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- one sample


def _sample_props(sample: SampleResult) -> dict[str, Any]:
    return sample.identity()


def _sample_artifacts(sample: SampleResult) -> list[tuple[str, str]]:
    """(virtual uri, source) of each unit of a sample."""
    return [(_virtual_uri(sample, i), unit.source) for i, unit in enumerate(sample.units)]


_SampleResult = tuple[_Rule, str, int, dict[str, int], dict[str, Any]]


def _sample_results(sample: SampleResult) -> list[_SampleResult]:
    """(rule, message, unit index, region, properties) of each SARIF result of a sample."""
    props = _sample_props(sample)
    n_units = len(sample.units)
    out: list[_SampleResult] = []
    for rec in sample.findings:
        if 0 <= rec.unit < n_units:
            rule = _Rule(rec.code, rec.name, rec.severity)
            out.append((rule, rec.message, rec.unit, _region(rec), props))
    parse_rule = _Rule(PARSE_ERROR, PARSE_ERROR, Severity.ERROR)
    parse_failed = False
    for i, unit in enumerate(sample.units):
        if unit.parse_error is not None:
            parse_failed = True
            out.append(
                (parse_rule, unit.parse_error, i, _parse_error_region(unit.parse_error), props)
            )
    if sample.status == "parse-error" and not parse_failed and n_units:
        text = sample.detail or "the generated code does not parse"
        out.append((parse_rule, text, 0, _parse_error_region(text), props))
    return out


def _notification(sample: SampleResult) -> dict[str, Any] | None:
    level = _NOTIFY_LEVELS.get(sample.status)
    if level is None:
        return None
    reason = sample.error or sample.detail or sample.status
    where = f"{sample.template} / {sample.model} / {sample.case} #{sample.sample}"
    return {
        "level": level,
        "message": {"text": f"{where}: {sample.status}: {reason}"},
        "properties": _sample_props(sample),
    }


def _run_extra(meta: RunMeta) -> dict[str, Any]:
    run_props: dict[str, Any] = {
        "runId": meta.run_id,
        "startedAt": meta.started_at,
        "simulated": meta.simulated,
    }
    if meta.git_commit:
        run_props["gitCommit"] = meta.git_commit
    return {
        "automationDetails": {"id": f"{TOOL_NAME}/{meta.run_id}"},
        "properties": run_props,
    }


# --------------------------------------------------------------------------- streamed JSON


def _dump(value: Any, depth: int = 0) -> str:
    """`value` as `json.dumps(indent=2)` writes it at nesting depth `depth`."""
    text = json.dumps(value, indent=2)
    return text.replace("\n", "\n" + "  " * depth) if depth else text


class _JsonArray:
    """Writes a JSON array one element at a time, laid out as `json.dumps(indent=2)` does."""

    def __init__(self, fh: IO[str], depth: int) -> None:
        self._fh = fh
        self._depth = depth
        self.count = 0

    def add(self, value: Any) -> None:
        pad = "  " * (self._depth + 1)
        self._fh.write(("[\n" if self.count == 0 else ",\n") + pad + _dump(value, self._depth + 1))
        self.count += 1

    def close(self) -> None:
        self._fh.write("[]" if self.count == 0 else "\n" + "  " * self._depth + "]")


def _copy(spool: IO[str], array: _JsonArray, out: IO[str]) -> None:
    """Close the array written to `spool` and append it to `out`."""
    array.close()
    spool.seek(0)
    shutil.copyfileobj(spool, out, 1 << 20)


def _region(f: Finding) -> dict[str, int]:
    line, col = max(f.line, 1), max(f.col, 1)
    end_line = max(f.end_line, line)
    end_col = max(f.end_col, 1)
    if end_line == line and end_col < col:
        end_col = col
    return {"startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col}


def _parse_error_region(text: str) -> dict[str, int]:
    match = _PARSE_POS.search(text)
    line = int(match.group(1)) if match else 1
    col = int((match.group(2) or match.group(3) or 1) if match else 1)
    return {"startLine": max(line, 1), "startColumn": max(col, 1)}


def _file_uri(path: str) -> str:
    p = PurePath(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(p.as_posix(), safe="/")


def _segment(text: str) -> str:
    return _UNSAFE_SEGMENT.sub("_", text).strip("._") or "_"


def _virtual_uri(sample: SampleResult, unit: int) -> str:
    base = f"generated/{_segment(sample.template)}/{_segment(sample.model)}"
    stem = f"{_segment(sample.case)}-{sample.sample}"
    if len(sample.units) <= 1:
        return f"{base}/{stem}.py"
    parts = [
        _segment(p)
        for p in PurePosixPath(sample.units[unit].path).parts
        if p not in {"/", ".", ".."}
    ]
    return f"{base}/{stem}/{'/'.join(parts) or f'unit{unit}.py'}"


def _sections(rule: type[RuleBase]) -> dict[str, str]:
    """The docstring's `## Heading` sections, by heading."""
    out: dict[str, str] = {}
    heading = None
    lines: list[str] = []
    for line in [*rule.docs().splitlines(), "## "]:
        if line.startswith("## "):
            if heading is not None:
                out[heading] = "\n".join(lines).strip()
            heading, lines = line[3:].strip(), []
        else:
            lines.append(line)
    return out


def _descriptor(rule: _Rule) -> dict[str, Any]:
    level = _LEVELS[rule.severity]
    registered = all_rules().get(rule.code)
    if registered is not None:
        sections = _sections(registered)
        what = sections.get(DOC_SECTIONS[0]) or registered.message
        docs = registered.docs()
        return {
            "id": registered.code,
            "name": registered.name,
            "shortDescription": {"text": registered.message},
            "fullDescription": {"text": what},
            "help": {"text": docs, "markdown": docs},
            "defaultConfiguration": {"level": _LEVELS[Severity(registered.severity)]},
            "properties": {"tags": [registered.code[:3]]},
        }
    if rule.code == PARSE_ERROR:
        text = "The Python source does not parse, so no rule could check it."
        return {
            "id": PARSE_ERROR,
            "name": PARSE_ERROR,
            "shortDescription": {"text": "Python source does not parse"},
            "fullDescription": {"text": text},
            "help": {"text": text, "markdown": text},
            "defaultConfiguration": {"level": "error"},
        }
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.name.replace("-", " ")},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["ruff"]} if rule.code.startswith("ruff:") else {},
    }
    if rule.code.startswith("ruff:") and rule.name != rule.code:
        descriptor["helpUri"] = f"{RUFF_DOCS}{rule.name}"
    return descriptor
