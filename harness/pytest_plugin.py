"""pytest plugin: each template x model becomes a test item checked against golden/.

Enable with `pytest --harness`, or `harness = true` under `[tool.pytest.ini_options]`.
The verdict is the one `harness check` gives; it is computed once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.gate import CheckOutcome

_OUTCOME = pytest.StashKey["CheckOutcome | BaseException"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "prompt-harness regression gate")
    group.addoption("--harness", action="store_true", help="check templates against golden/")
    group.addoption(
        "--harness-only",
        action="store_true",
        help="run only the prompt regression items (implies --harness)",
    )
    group.addoption("--harness-config", default=None, help="path to harness.yaml")
    group.addoption(
        "--harness-offline", action="store_true", help="never call paid providers in the check"
    )
    parser.addini("harness", type="bool", default=False, help="enable the prompt regression gate")


def _enabled(config: pytest.Config) -> bool:
    return bool(
        config.getoption("--harness")
        or config.getoption("--harness-only")
        or config.getini("harness")
    )


class HarnessFailure(Exception):
    pass


class HarnessItem(pytest.Item):
    def __init__(self, *, template: str, model: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.template = template
        self.model = model

    def _outcome(self) -> CheckOutcome:
        stash = self.config.stash
        if _OUTCOME not in stash:
            from harness.config import load_config
            from harness.gate import run_check

            opt = self.config.getoption("--harness-config")
            try:
                hconf = load_config(Path(opt) if opt else None, start=self.config.rootpath)
                stash[_OUTCOME] = run_check(
                    hconf, offline=bool(self.config.getoption("--harness-offline")), progress=False
                )
            except Exception as exc:  # reported on every item, not raised at collection
                stash[_OUTCOME] = exc
        value = stash[_OUTCOME]
        if isinstance(value, BaseException):
            raise HarnessFailure(f"harness check could not run: {value}")
        return value

    def runtest(self) -> None:
        from harness.gate import render_markdown

        outcome = self._outcome()
        cell = next(
            (
                c
                for c in outcome.gate.cells
                if c.template == self.template and c.model == self.model
            ),
            None,
        )
        if cell is None:
            raise HarnessFailure("no result for this template and model")
        if cell.status == "no-verdict":
            raise HarnessFailure(f"no verdict: {cell.note}")
        if cell.regressions:
            lines = [f"{len(cell.regressions)} regression(s) against golden/:"]
            for c in cell.regressions:
                lines.append(
                    f"  {c.metric}: {c.baseline:.0%} -> {c.current:.0%} "
                    f"({c.baseline_n}->{c.current_n} samples; {c.reason})"
                )
            mine = [
                line
                for line in render_markdown(outcome).splitlines()
                if f"| {self.template} | {self.model} |" in line
            ]
            raise HarnessFailure("\n".join([*lines, "", *mine]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, HarnessFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"harness: {self.template} x {self.model}"


_CONFIG = pytest.StashKey[Any]()


def _hconf(config: pytest.Config) -> Any:
    from harness.config import load_config

    if _CONFIG not in config.stash:
        opt = config.getoption("--harness-config")
        config.stash[_CONFIG] = load_config(Path(opt) if opt else None, start=config.rootpath)
    return config.stash[_CONFIG]


def _items(parent: pytest.Collector, specs: Any) -> Iterator[HarnessItem]:
    from harness.golden import read_baselines

    hconf = _hconf(parent.config)
    baselines = read_baselines(hconf.path(hconf.golden_dir))
    for spec in specs:
        models = set(baselines[spec.id].models) if spec.id in baselines else set()
        models |= {m.alias for m in hconf.models}
        for model in sorted(models):
            yield HarnessItem.from_parent(
                parent,
                name=f"{spec.id}[{model}]",
                template=spec.id,
                model=model,
                path=Path(spec.path),
            )


class HarnessFile(pytest.File):
    """A template file named on the command line (or under the paths pytest walks): its
    items have ids such as `prompt_templates/service_layer.yaml::service_layer[careful]`."""

    def collect(self) -> Iterator[HarnessItem]:
        from harness.plan import Selection, select_templates

        specs = select_templates(_hconf(self.config), Selection())
        mine = [s for s in specs if Path(s.path).resolve() == self.path.resolve()]
        yield from _items(self, mine)


class HarnessCollector(pytest.Collector):
    """Every template, for a run whose paths do not reach the templates directory."""

    def collect(self) -> Iterator[HarnessItem]:
        from harness.plan import Selection, select_templates

        yield from _items(self, select_templates(_hconf(self.config), Selection()))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> HarnessFile | None:
    if not _enabled(parent.config) or file_path.suffix not in (".yaml", ".yml", ".prompty"):
        return None
    hconf = _hconf(parent.config)
    templates = hconf.path(hconf.templates_dir).resolve()
    if templates not in file_path.resolve().parents:
        return None
    return HarnessFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the harness items before `-k` / `-m` deselect (so their counts are right); with
    `--harness-only`, the project's other items are deselected."""
    if not _enabled(config):
        return
    collected = [i for i in items if isinstance(i, HarnessItem)]
    if collected:  # template files were collected (named on the command line, or walked)
        ours: list[pytest.Item] = list(collected)
    else:
        collector = HarnessCollector.from_parent(session, name="harness", path=config.rootpath)
        ours = list(collector.collect())
        # Reported as collected, so "collected N items" and -k counts include them.
        config.hook.pytest_collectreport(
            report=pytest.CollectReport(collector.nodeid, "passed", None, ours)
        )
        session.testscollected += len(ours)
        items.extend(ours)
    if config.getoption("--harness-only"):
        others = [i for i in items if not isinstance(i, HarnessItem)]
        if others:
            config.hook.pytest_deselected(items=others)
        items[:] = ours
