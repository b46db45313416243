"""Render a template case into chat messages, in a Jinja2 sandbox.

The environment is immutable-sandboxed, undefined names are errors, nothing is HTML-escaped,
and the globals that have been used to escape sandboxes (`cycler`, `joiner`, `lipsum`,
`namespace`) are gone. Errors name the template file and the line inside it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateAssertionError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from harness.errors import RenderError
from harness.templates.spec import Case, TemplateSpec
from harness.templates.yamldoc import VALUE_SUFFIX

#: Fields of a spec that are Jinja templates, in message order.
PROMPT_FIELDS = (("system", "system"), ("template", "user"))
_TEMPLATE_FILENAME = "<harness-template>"
_REMOVED_GLOBALS = ("cycler", "joiner", "lipsum", "namespace")


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    messages: tuple[Message, ...]
    params: dict[str, Any]
    sha256: str

    @property
    def text(self) -> str:
        """All message contents, joined (for linting)."""
        return "\n\n".join(m.content for m in self.messages)


def make_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    for name in _REMOVED_GLOBALS:
        env.globals.pop(name, None)
    return env


ENV = make_environment()


def field_position(spec: TemplateSpec, field: str) -> tuple[int, int]:
    """(line, col) in the spec's file of the first line of a template field's text."""
    return spec.line_of(field + VALUE_SUFFIX)


def parse_source(source: str) -> nodes.Template:
    """Parse Jinja source to its AST (raises jinja2.TemplateSyntaxError)."""
    return ENV.parse(source)


@lru_cache(maxsize=512)
def _compile(field: str, source: str) -> jinja2.Template:
    # The compiled template depends on its source only; errors are not cached.
    return ENV.from_string(source)


_PARAMS_CACHE_SIZE = 256
_params_cache: dict[int, tuple[TemplateSpec, dict[str, Any]]] = {}


def _spec_params(spec: TemplateSpec) -> dict[str, Any]:
    """spec.params dumped (None dropped), once per spec object (specs are frozen)."""
    hit = _params_cache.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    params = spec.params.model_dump(mode="json", exclude_none=True)
    if len(_params_cache) >= _PARAMS_CACHE_SIZE:
        _params_cache.pop(next(iter(_params_cache)))
    _params_cache[id(spec)] = (spec, params)
    return params


def _template_line(tb: TracebackType | None) -> int | None:
    """The innermost template line in a traceback Jinja rewrote to point into the template."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in (_TEMPLATE_FILENAME, "<template>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _error(
    spec: TemplateSpec, field: str, message: str, rel_line: int | None, hint: str | None = None
) -> RenderError:
    line, col = field_position(spec, field)
    if rel_line is not None:
        line, col = line + rel_line - 1, None
    return RenderError(f"{field}: {message}", path=spec.path, line=line, col=col, hint=hint)


def case_vars(spec: TemplateSpec, case: Case) -> dict[str, Any]:
    """Declared defaults (None for optional variables without one), overridden by the case."""
    merged: dict[str, Any] = {}
    for name, var in spec.variables.items():
        if var.default is not None or not var.required:
            merged[name] = var.default
    merged.update(case.vars)
    return merged


def render_field(
    spec: TemplateSpec, field: str, source: str, variables: dict[str, Any], *, spec_hash: str = ""
) -> str:
    """Render one template field. Raises RenderError with the file line of the problem.
    (`spec_hash` is accepted for compatibility; compiled templates are cached by source.)"""
    try:
        template = _compile(field, source)
    except TemplateAssertionError as exc:  # unknown filter or test
        raise _error(spec, field, exc.message or "invalid template", exc.lineno) from None
    except TemplateSyntaxError as exc:
        raise _error(spec, field, f"syntax error: {exc.message}", exc.lineno) from None
    try:
        return template.render(variables)
    except UndefinedError as exc:
        hint = "declare it under `variables:` with a default, or set it in the case's `vars:`"
        raise _error(
            spec, field, exc.message or "undefined", _template_line(exc.__traceback__), hint
        ) from None
    except SecurityError as exc:
        message = f"blocked by the sandbox: {exc}"
        raise _error(spec, field, message, _template_line(exc.__traceback__)) from None
    except TemplateSyntaxError as exc:
        raise _error(spec, field, f"syntax error: {exc.message}", exc.lineno) from None
    except (
        jinja2.TemplateError,
        ArithmeticError,
        LookupError,
        TypeError,
        ValueError,
        OverflowError,
        RecursionError,
    ) as exc:
        message = f"render failed: {type(exc).__name__}: {exc}"
        raise _error(spec, field, message, _template_line(exc.__traceback__)) from None


def prompt_hash(messages: tuple[Message, ...], params: dict[str, Any]) -> str:
    data = {"messages": [m.as_dict() for m in messages], "params": params}
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def render(spec: TemplateSpec, case: Case) -> RenderedPrompt:
    """Render `case` of `spec` to messages (system if present, then user). Raises RenderError."""
    variables = case_vars(spec, case)
    messages: list[Message] = []
    for field, role in PROMPT_FIELDS:
        source = getattr(spec, field)
        if source is None:
            continue
        messages.append(Message(role, render_field(spec, field, source, variables)))
    params = dict(_spec_params(spec))
    return RenderedPrompt(tuple(messages), params, prompt_hash(tuple(messages), params))
