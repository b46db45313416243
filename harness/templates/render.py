"""Render a template case into chat messages, in a Jinja2 sandbox.

The environment is immutable-sandboxed, undefined names are errors, nothing is HTML-escaped,
and the globals that have been used to escape sandboxes (`cycler`, `joiner`, `lipsum`,
`namespace`) are gone. Errors name the template file and the line inside it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateAssertionError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from harness.deadline import Expired, deadline
from harness.errors import RenderError
from harness.templates.spec import Case, Provided, TemplateSpec
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


#: Bounds on what one field may compute: its output, a number's size, and its time.
MAX_OUTPUT_CHARS = 1_000_000
MAX_INT_BITS = 4096
RENDER_SECONDS = 5.0
# A field width of a million or more in a %-format or a str.format spec.
_PERCENT_WIDTH_RE = re.compile(r"%[-+ #0]*\d{6,}")
_FORMAT_WIDTH_RE = re.compile(r"\{[^{}:]*:[^{}\d]*\d{6,}")
_SIZED_STR_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, with arithmetic and repetition bounded, so a template
    cannot make a huge number or string (`10**5000`, `'a' * 10**9`), at render time or at
    compile time (intercepted operators are never folded into constants)."""

    intercepted_binops = frozenset({"**", "*", "+", "%", "//", "<<"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_int(left) and _is_int(right):
            if right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_INT_BITS:
                raise SecurityError(f"{left} ** {right} is too large a number")
        elif operator == "<<" and _is_int(left) and _is_int(right):
            if right > MAX_INT_BITS:
                raise SecurityError(f"{left} << {right} is too large a number")
        elif operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
            big = _is_int(left) and _is_int(right)
            if big and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise SecurityError("the product is too large a number")
        elif operator == "+" and isinstance(left, str | list | tuple):
            if isinstance(right, type(left)) and len(left) + len(right) > MAX_OUTPUT_CHARS:
                raise SecurityError(f"the result would exceed {MAX_OUTPUT_CHARS:,} items")
        elif operator == "%" and isinstance(left, str) and _PERCENT_WIDTH_RE.search(left):
            raise SecurityError("a format width of a million or more")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and _FORMAT_WIDTH_RE.search(value.__self__):

            def refuse(*args: Any, **kwargs: Any) -> str:
                raise SecurityError("str.format with a width of a million or more")

            return refuse
        return wrapped

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in _SIZED_STR_METHODS:
            values = (*args, *kwargs.values())
            if _FORMAT_WIDTH_RE.search(owner) or any(
                _is_int(v) and abs(v) > MAX_OUTPUT_CHARS for v in values
            ):
                raise SecurityError("a str method with a width of a million or more")
        return super().call(__context, __obj, *args, **kwargs)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_repeat(seq: Any, times: Any) -> None:
    sized = isinstance(seq, str | list | tuple) and _is_int(times)
    if sized and len(seq) * times > MAX_OUTPUT_CHARS:
        raise SecurityError(f"the repetition would exceed {MAX_OUTPUT_CHARS:,} items")


def _bounded_filter(fn: Any) -> Any:
    """A filter whose numeric arguments (widths, lengths) stay within MAX_OUTPUT_CHARS."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        for value in (*args[1:], *kwargs.values()):
            if _is_int(value) and abs(value) > MAX_OUTPUT_CHARS:
                raise SecurityError(f"a width or count of {value:,} is too large")
        return fn(*args, **kwargs)

    for attr in ("jinja_pass_arg",):
        if hasattr(fn, attr):
            setattr(bounded, attr, getattr(fn, attr))
    return bounded


def make_environment() -> BoundedSandbox:
    env = BoundedSandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        optimized=False,  # no evaluation at compile time, where no bound or line applies
    )
    for name in _REMOVED_GLOBALS:
        env.globals.pop(name, None)
    for name in ("center", "indent", "wordwrap", "truncate", "format", "batch", "slice"):
        if name in env.filters:
            env.filters[name] = _bounded_filter(env.filters[name])
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
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise _error(spec, field, f"cannot compile: {type(exc).__name__}: {exc}", None) from None
    try:
        return _bounded_render(template, variables)
    except _RenderLimit as exc:
        raise _error(spec, field, str(exc), _template_line(exc.__traceback__)) from None
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
        MemoryError,
    ) as exc:
        message = f"render failed: {type(exc).__name__}: {exc}"
        raise _error(spec, field, message, _template_line(exc.__traceback__)) from None


class _RenderLimit(Exception):
    """A render went past MAX_OUTPUT_CHARS or RENDER_SECONDS."""


def _bounded_render(template: jinja2.Template, variables: dict[str, Any]) -> str:
    """Render, stopping past MAX_OUTPUT_CHARS of output or RENDER_SECONDS of time (timed in
    the main thread, `harness.deadline`; elsewhere the output bound still holds)."""
    try:
        with deadline(RENDER_SECONDS):
            parts: list[str] = []
            size = 0
            for chunk in template.generate(variables):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise _RenderLimit(f"render output exceeds {MAX_OUTPUT_CHARS:,} characters")
                parts.append(chunk)
            return "".join(parts)
    except Expired:
        raise _RenderLimit(f"render took longer than {RENDER_SECONDS:g} s") from None


def prompt_hash(messages: tuple[Message, ...], params: dict[str, Any]) -> str:
    data = {"messages": [m.as_dict() for m in messages], "params": params}
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


#: A role marker line of a Prompty body, as Prompty's runtime reads it (`user:`,
#: `# assistant:`, `user[name="a"]:`).
ROLE_MARKER_RE = re.compile(
    r"^[ \t]*#?[ \t]*(system|user|assistant)(?:\[[^\]\n]*\])?[ \t]*:[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def split_roles(text: str) -> list[Message]:
    """Messages of a rendered Prompty body: text before the first marker is the system
    message; empty turns are dropped."""
    out: list[Message] = []
    role, start = "system", 0
    for match in ROLE_MARKER_RE.finditer(text):
        content = text[start : match.start()].strip("\n")
        if content.strip():
            out.append(Message(role, content.rstrip() + "\n"))
        role, start = match.group(1).lower(), match.end()
    content = text[start:].strip("\n")
    if content.strip():
        out.append(Message(role, content.rstrip() + "\n"))
    return out


def render(spec: TemplateSpec, case: Case) -> RenderedPrompt:
    """Render `case` of `spec` to messages (system if present, then user). Raises RenderError.
    With `split_roles`, the rendered template is split into turns at its role markers."""
    variables = case_vars(spec, case)
    messages: list[Message] = []
    for field, role in PROMPT_FIELDS:
        source = getattr(spec, field)
        if source is None:
            continue
        text = render_field(spec, field, source, variables)
        if field == "template" and spec.split_roles:
            turns = split_roles(text)
            if not any(m.role == "user" for m in turns):
                raise _error(spec, field, "the rendered body has no `user:` turn", None)
            messages.extend(turns)
        else:
            messages.append(Message(role, text))
    params = dict(_spec_params(spec))
    return RenderedPrompt(tuple(messages), params, prompt_hash(tuple(messages), params))


def render_provides(spec: TemplateSpec, case: Case) -> tuple[Provided, ...]:
    """What the code must provide for `case` (the template's items, then the case's), with
    `name`, `method` and `path` rendered with the case's variables. Raises RenderError."""
    variables = case_vars(spec, case)
    out: list[Provided] = []
    for item in (*spec.expect.provides, *case.provides):
        values = {
            key: render_field(spec, "expect.provides", text, variables).strip()
            if isinstance(text, str) and "{" in text
            else text
            for key, text in (("name", item.name), ("method", item.method), ("path", item.path))
        }
        out.append(item.model_copy(update=values))
    return tuple(out)
