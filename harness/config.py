"""Project config: `harness.yaml` (or `[tool.harness]` in pyproject.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.credentials import find_credentials, url_credentials
from harness.errors import ConfigError

CONFIG_NAMES = ("harness.yaml", "harness.yml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    """One model to run: an alias and a litellm model string.

    API keys never live here: litellm reads them from its usual environment variables.
    """

    alias: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    model: str
    api_base: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    max_concurrency: int = Field(default=8, ge=1)
    rpm: float | None = Field(default=None, gt=0)
    samples: int | None = Field(default=None, ge=1)

    @property
    def simulated(self) -> bool:
        return self.model.startswith("sim/")

    @field_validator("params")
    @classmethod
    def _no_secrets(cls, v: dict[str, Any]) -> dict[str, Any]:
        found = list(find_credentials(v))
        if found:
            raise ValueError(
                f"credential {found[0]!r} may not be set in config; litellm reads keys from"
                " the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...)"
            )
        return v

    @field_validator("api_base")
    @classmethod
    def _no_secrets_in_url(cls, v: str | None) -> str | None:
        found = url_credentials(v) if v else []
        if found:
            raise ValueError(
                f"api_base may not carry a credential ({found[0]}); use the environment"
            )
        return v


class Limits(_Strict):
    max_concurrency: int = Field(default=32, ge=1)
    timeout: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    max_cost: float | None = Field(default=None, gt=0)


class LintConfig(_Strict):
    exclude: tuple[str, ...] = ()
    fail_level: Literal["error", "warning", "info"] = "warning"
    token_budget: int = Field(default=6000, gt=0)
    ignore: tuple[str, ...] = ()


class RulesConfig(_Strict):
    read_model_suffixes: tuple[str, ...] = ("Read", "Out", "Response", "Public", "InDB", "Detail")
    input_model_suffixes: tuple[str, ...] = (
        "Create",
        "Update",
        "Patch",
        "In",
        "Input",
        "Request",
        "Payload",
    )
    ruff_select: tuple[str, ...] = ("F", "E9", "B", "S608", "UP", "ASYNC", "DTZ")
    ruff: bool = True
    # Limits a code unit is checked under (beyond them: status `check-error`).
    max_unit_chars: int = Field(default=200_000, gt=0)
    max_depth: int = Field(default=100, gt=0)
    unit_timeout: float = Field(default=10.0, gt=0)
    max_line_chars: int = Field(default=20_000, gt=0)


class ProfileRule(_Strict):
    weight: float = Field(default=1.0, gt=0)
    blocking: bool = False


#: Rules whose violation fails a sample whatever its score, by default: a swallowed
#: exception, SQL built from strings, `HTTPException` in a service, and off-task code.
DEFAULT_BLOCKING = ("EXC001", "SQL001", "SVC001", "TSK001")


class ProfileConfig(_Strict):
    """The house rule profile: what good code is for this team, the same for every template.

    The default profile is every built-in code rule plus `TSK001` and `ruff`, weight 1.
    `rules` maps codes to a weight or `{weight, blocking}`, over the default; with
    `only: true` the profile is exactly `rules`. Each rule counts where its subject appears.
    `blocking` lists the rules whose violation fails a sample whatever its score.
    """

    rules: dict[str, ProfileRule] | None = None
    only: bool = False
    blocking: tuple[str, ...] = DEFAULT_BLOCKING

    @field_validator("rules", mode="before")
    @classmethod
    def _weights(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {
                str(k).upper() if str(k).lower() != "ruff" else "ruff": (
                    {"weight": w} if isinstance(w, int | float) else w
                )
                for k, w in v.items()
            }
        return v


class GateConfig(_Strict):
    margin: float = Field(default=0.10, ge=0, le=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    # Holm-Bonferroni over every comparison of one check, or none.
    correction: Literal["holm", "none"] = "holm"


class HarnessConfig(_Strict):
    templates_dir: str = "prompt_templates"
    reports_dir: str = "reports"
    golden_dir: str = "golden"
    store: str = ".harness/store.sqlite"
    samples: int = Field(default=1, ge=1)
    models: tuple[ModelConfig, ...] = ()
    limits: Limits = Limits()
    lint: LintConfig = LintConfig()
    rules: RulesConfig = RulesConfig()
    profile: ProfileConfig = ProfileConfig()
    gate: GateConfig = GateConfig()

    # Directory the config was loaded from; relative paths resolve against it.
    root: str = Field(default=".", exclude=True)

    def path(self, rel: str) -> Path:
        return (Path(self.root) / rel).resolve()

    def model(self, alias: str) -> ModelConfig:
        for m in self.models:
            if m.alias == alias:
                return m
        known = ", ".join(m.alias for m in self.models) or "none"
        raise ConfigError(f"unknown model {alias!r}", hint=f"configured models: {known}")


def find_config(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        for name in CONFIG_NAMES:
            if (directory / name).is_file():
                return directory / name
        if (directory / "pyproject.toml").is_file():
            data = tomllib.loads((directory / "pyproject.toml").read_text())
            if "harness" in data.get("tool", {}):
                return directory / "pyproject.toml"
    return None


def load_config(path: Path | None = None, *, start: Path | None = None) -> HarnessConfig:
    """Load config from `path`, or search upwards from `start` (cwd). Defaults if none found."""
    if path is None:
        path = find_config((start or Path.cwd()).resolve())
        if path is None:
            return HarnessConfig(root=str((start or Path.cwd()).resolve()))
    if not path.is_file():
        raise ConfigError("config file not found", path=str(path))
    try:
        if path.name == "pyproject.toml":
            data = tomllib.loads(path.read_text()).get("tool", {}).get("harness", {})
        else:
            data = yaml.safe_load(path.read_text()) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(
            f"invalid YAML: {exc.problem}",
            path=str(path),
            line=mark.line + 1 if mark else None,
            col=mark.column + 1 if mark else None,
        ) from None
    except (yaml.YAMLError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("config must be a mapping", path=str(path), line=1)
    try:
        return HarnessConfig(**{**data, "root": str(path.parent.resolve())})
    except ValidationError as exc:
        positions = _positions(path) if path.name != "pyproject.toml" else {}
        errors = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"])
            line, col = _position_of(positions, [str(p) for p in err["loc"]])
            errors.append(ConfigError(f"{loc}: {err['msg']}", path=str(path), line=line, col=col))
        errors.sort(key=lambda e: (e.line or 0, e.col or 0))
        errors[0].more = tuple(errors[1:])
        raise errors[0] from None


def _positions(path: Path) -> dict[tuple[str, ...], tuple[int, int]]:
    """(line, col) of every key of a YAML config, by its path of keys and list indices."""
    try:
        root = yaml.compose(path.read_text())
    except yaml.YAMLError:
        return {}
    out: dict[tuple[str, ...], tuple[int, int]] = {}
    todo: list[tuple[tuple[str, ...], yaml.Node]] = [((), root)] if root is not None else []
    while todo:
        where, node = todo.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*where, str(key.value))
                out[here] = (key.start_mark.line + 1, key.start_mark.column + 1)
                todo.append((here, value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                here = (*where, str(i))
                out[here] = (item.start_mark.line + 1, item.start_mark.column + 1)
                todo.append((here, item))
    return out


def _position_of(
    positions: dict[tuple[str, ...], tuple[int, int]], loc: list[str]
) -> tuple[int | None, int | None]:
    """The position of the deepest key of `loc` the file has (validators add their own)."""
    for k in range(len(loc), 0, -1):
        found = positions.get(tuple(loc[:k]))
        if found is not None:
            return found
    return (None, None) if not positions else (1, 1)
