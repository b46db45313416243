"""Fuzz the input boundaries: the template loader, the reply extractor, the rule engine and
`store import`, each on N generated inputs (default 100,000), in a supervised worker process.

An input is a crash when its target raises anything but the error it documents (TemplateError,
StoreError; the extractor and the engine never raise) or kills the worker; a hang when it
takes longer than --timeout seconds. Inputs are mutations of the shipped templates, the
benchmark corpus and the shapes that once broke a run (deep nesting, long lines, lone
surrogates, alias bombs, huge literals). Deterministic for a given --seed.

    python benchmarks/fuzz.py [-n 100000] [--targets loader,extractor,engine,store]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from harness.worker import Worker, WorkerDied, map_isolated  # noqa: E402

CORPUS = sorted((ROOT / "benchmarks" / "corpus").glob("*.py"))
TEMPLATES = sorted((ROOT / "prompt_templates").glob("*.yaml"))
TOKENS = [
    "(", ")", "[", "]", "{", "}", ":", ".", ",", "lambda: ", "not ", "-", "**", "'", '"', '"""',
    "\\", "\n", "\t", "    ", "#", "@", "\ud800", "\udfff", "\x00", "é", "\u2028", "`", "```",
    "~~~", "*a", "&a", "{{", "}}", "{%", "%}", "\\ud800", "9" * 50, "a." * 50, "[" * 300,
    "except:", "class X(Base):", "import ", "from x import y", "async ", "await ", "yield ",
]  # fmt: skip
JINJA = [
    "{{ 10**5000 }}", "{{ 'a' * 10**9 }}", "{{ 9**(9**9) }}", "{{ x }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{{ ''.__class__.__mro__ }}", "{{ 'a'|center(10**9) }}", "{% raw %}", "{{ entity }}",
]  # fmt: skip
FENCE_INFO = ["python", "py", "", "python app/models.py", "json", "bash", "`", "~", "py:x.py"]


def _mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        pos = rng.randint(0, len(chars)) if chars else 0
        if roll < 0.4:
            chars[pos:pos] = list(rng.choice(TOKENS) * rng.choice((1, 1, 2, 50, 1000)))
        elif roll < 0.6 and chars:
            del chars[pos : pos + rng.randint(1, 40)]
        elif roll < 0.8 and chars:
            chunk = chars[pos : pos + rng.randint(1, 80)]
            chars[pos:pos] = chunk * rng.randint(1, 20)
        else:
            chars[pos:pos] = [chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 5))]
    return "".join(chars)


def _snippet(rng: random.Random, sources: list[str]) -> str:
    lines = rng.choice(sources).splitlines(keepends=True)
    start = rng.randint(0, max(0, len(lines) - 1))
    text = "".join(lines[start : start + rng.randint(1, 40)])
    return _mutate(text, rng) if rng.random() < 0.8 else text


def code_inputs(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    sources = [p.read_text() for p in CORPUS]
    for _ in range(n):
        yield _snippet(rng, sources)


def reply_inputs(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed + 1)
    sources = [p.read_text() for p in CORPUS]
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.3:
                parts.append(rng.choice(("Here is the code:", "app/models.py", "**x.py**", "")))
            fence = rng.choice(("```", "~~~", "````"))
            close = fence if rng.random() < 0.8 else ""
            info = rng.choice(FENCE_INFO)
            parts.append(f"{fence}{info}\n{_snippet(rng, sources)}\n{close}")
        text = "\n".join(parts)
        yield _mutate(text, rng) if rng.random() < 0.5 else text


def template_inputs(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed + 2)
    sources = [p.read_text() for p in TEMPLATES]
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 9)}]\n" for i in range(9)
    )
    for _ in range(n):
        text = rng.choice(sources)
        roll = rng.random()
        if roll < 0.2:
            lines = text.splitlines(keepends=True)
            i = rng.randrange(len(lines))
            lines.insert(i, f"  {rng.choice(JINJA)}\n")
            text = "".join(lines)
        elif roll < 0.25:
            text = bomb + text
        yield _mutate(text, rng) if rng.random() < 0.85 else text


def store_inputs(n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed + 3)
    base = {
        "key": None,
        "model": "openai/x",
        "messages": [{"role": "user", "content": "Write a model"}],
        "params": {"temperature": 0.2},
        "sample": 0,
        "response": {"text": "```python\nx = 1\n```", "prompt_tokens": 3, "cost": 0.001},
    }
    odd = ["abc", -1, 1e308, None, [], {}, {"a": [1]}, "\ud800", True, 2**70, "", "\x00"]
    for _ in range(n):
        rec = json.loads(json.dumps(base))
        for _ in range(rng.randint(0, 3)):
            target = rec.get("response") if rng.random() < 0.5 else rec
            if not isinstance(target, dict) or not target:
                target = rec
            if not target:
                break
            key = rng.choice(list(target))
            if rng.random() < 0.2:
                del target[key]
            else:
                target[key] = rng.choice(odd)
        line = json.dumps(rec)
        yield _mutate(line, rng) if rng.random() < 0.3 else line


# --------------------------------------------------------------------------- targets (worker)

_LIMIT_S = [5.0]


class _Hang(BaseException):
    pass


def _timed(fn: Callable[[str], None], text: str) -> str:
    """'ok', 'crash: ...' or 'hang' for one input."""

    def expire(signum: int, frame: object) -> None:
        raise _Hang

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, _LIMIT_S[0])
    try:
        fn(text)
        return "ok"
    except _Hang:
        return "hang"
    except Exception as exc:
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        return f"crash: {type(exc).__name__}: {str(exc)[:80]} at {tb.filename}:{tb.lineno}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _loader(text: str) -> None:
    from harness.errors import TemplateError
    from harness.templates import render as render_mod
    from harness.templates.loader import parse_template
    from harness.templates.render import render

    render_mod.RENDER_SECONDS = 0.05  # the bound itself is tested; keep its cost down

    try:
        spec = parse_template(text, "fuzz.yaml")
        for case in spec.cases[:2]:
            render(spec, case)
    except TemplateError:
        pass


def _extractor(text: str) -> None:
    from harness.code.extract import extract

    extract(text, finish_reason=random.choice((None, "stop", "length")))


_RULES: list[object] = []


def _engine(text: str) -> None:
    from harness.code.engine import RuleSet, check_unit
    from harness.code.unit import CodeUnit

    if not _RULES:
        _RULES.append(RuleSet.build())
    result = check_unit(CodeUnit(source=text, path="fuzz.py"), _RULES[0])  # type: ignore[arg-type]
    assert result.status in ("ok", "parse-error", "check-error")


def _store(text: str) -> None:
    from harness.errors import StoreError
    from harness.llm.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_text(text + "\n", encoding="utf-8", errors="surrogatepass")
        with Store(Path(tmp) / "s.sqlite") as store:
            try:
                store.import_(path)
                for record in store.iter_records():
                    json.dumps(record)
            except StoreError:
                pass


TARGETS: dict[str, tuple[Callable[[str], None], Callable[[int, int], Iterator[str]]]] = {
    "loader": (_loader, template_inputs),
    "extractor": (_extractor, reply_inputs),
    "engine": (_engine, code_inputs),
    "store": (_store, store_inputs),
}


def _run_batch(name: str, limit: float, texts: list[str]) -> list[str]:
    _LIMIT_S[0] = limit
    fn = TARGETS[name][0]
    return [_timed(fn, t) for t in texts]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=100_000, help="inputs per target")
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds before an input hangs")
    p.add_argument("--batch", type=int, default=500)
    args = p.parse_args()
    print(f"{'target':10} {'inputs':>8} {'crashes':>8} {'hangs':>6} {'seconds':>8} {'peak MB':>8}")
    total_bad = 0
    for name in args.targets.split(","):
        worker = Worker()
        start = time.monotonic()
        crashes: list[str] = []
        hangs = done = 0
        inputs = TARGETS[name][1](args.n, args.seed)
        run = functools.partial(_run_batch, name, args.timeout)
        while True:
            batch = [t for _, t in zip(range(args.batch), inputs, strict=False)]
            if not batch:
                break
            budget = args.timeout * len(batch) + 60
            for text, outcome in zip(
                batch,
                map_isolated(worker, run, batch, batch=len(batch), timeout=budget),
                strict=True,
            ):
                if isinstance(outcome, WorkerDied):
                    crashes.append(f"worker died: {outcome} on {text[:60]!r}")
                elif outcome == "hang":
                    hangs += 1
                elif outcome.startswith("crash"):
                    crashes.append(f"{outcome} on {text[:60]!r}")
            done += len(batch)
        worker.close()
        elapsed = time.monotonic() - start
        peak = _peak_mb()
        print(f"{name:10} {done:8d} {len(crashes):8d} {hangs:6d} {elapsed:8.1f} {peak:8.0f}")
        for line in crashes[:5]:
            print(f"    {line}")
        total_bad += len(crashes) + hangs
    print("peak MB: largest worker's resident set (ru_maxrss of children)")
    sys.exit(1 if total_bad else 0)


if __name__ == "__main__":
    main()
