"""YAML with positions: documents composed into nodes so that every dotted key knows its
(line, col), and validation of a template's data into a `TemplateSpec` with errors at the key
that is wrong. Shared by the YAML loader and the Prompty importer."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import TemplateError
from harness.templates.spec import TemplateSpec
from harness.text import LONE_SURROGATE

#: Suffix of a dotted key that holds where a string value's first content line is.
VALUE_SUFFIX = ".@value"

Lines = dict[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class YamlDoc:
    """A parsed YAML document: its data and where each dotted key is (1-based line, col)."""

    data: Any
    lines: Lines


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader without implicit timestamps: `2024-01-01` in a prompt stays a string."""


class _PyLoader(yaml.SafeLoader):
    """The same, in pure Python: deep nesting raises RecursionError instead of overflowing
    libyaml's C stack (which kills the process)."""


_Loader.yaml_implicit_resolvers = _PyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
#: Past this nesting (brackets, or indentation), YAML is read by the pure-Python loader.
C_LOADER_MAX_DEPTH = 100


def _may_nest_deeply(text: str) -> bool:
    """A cheap upper bound on a document's nesting: open brackets, or indentation."""
    depth = deepest = 0
    for char in _NOT_BRACKETS.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > C_LOADER_MAX_DEPTH:
        return True
    indent = max((len(line) - len(line.lstrip(" ")) for line in text.split("\n")), default=0)
    return indent > 2 * C_LOADER_MAX_DEPTH


def _pos(mark: yaml.Mark | None, line_offset: int) -> tuple[int, int]:
    if mark is None:
        return (1 + line_offset, 1)
    return (mark.line + 1 + line_offset, mark.column + 1)


def _value_pos(node: yaml.ScalarNode, text_lines: list[str], line_offset: int) -> tuple[int, int]:
    """Position of the first content line of a string value (block scalars start below `|`)."""
    line, col = _pos(node.start_mark, line_offset)
    if node.style in ("|", ">"):
        body_index = line - line_offset  # 0-based index of the line below the indicator
        if body_index < len(text_lines):
            body = text_lines[body_index]
            col = len(body) - len(body.lstrip(" ")) + 1
        return (line + 1, col)
    if node.style in ('"', "'"):
        return (line, col + 1)
    return (line, col)


def _walk(node: yaml.Node, text: str, lines: Lines, line_offset: int, path: str) -> None:
    """Record positions of every key under `node`; raise on duplicate keys."""
    text_lines = text.splitlines()
    key = ""
    stack: list[tuple[yaml.Node, str]] = [(node, key)]
    seen: set[int] = set()
    while stack:
        current, prefix = stack.pop()
        if id(current) in seen:  # aliases: each node is walked once
            continue
        seen.add(id(current))
        if _kind(current) == "mapping":
            names: dict[str, tuple[int, int]] = {}
            for key_node, value_node in current.value:
                if _kind(key_node) != "scalar" or (key_node.tag or "").endswith(":merge"):
                    continue
                name = key_node.value
                pos = _pos(key_node.start_mark, line_offset)
                if name in names:
                    first = names[name]
                    raise TemplateError(
                        f"duplicate key {name!r} (first defined on line {first[0]})",
                        path=path,
                        line=pos[0],
                        col=pos[1],
                    )
                names[name] = pos
                dotted = f"{prefix}.{name}" if prefix else name
                lines[dotted] = pos
                if _kind(value_node) == "scalar":
                    lines[dotted + VALUE_SUFFIX] = _value_pos(value_node, text_lines, line_offset)
                stack.append((value_node, dotted))
        elif _kind(current) == "sequence":
            for i, item in enumerate(current.value):
                dotted = f"{prefix}.{i}" if prefix else str(i)
                lines[dotted] = _pos(item.start_mark, line_offset)
                if _kind(item) == "scalar":
                    lines[dotted + VALUE_SUFFIX] = _value_pos(item, text_lines, line_offset)
                stack.append((item, dotted))


#: Values a document may hold once its aliases are expanded (a "billion laughs" bomb of a
#: few hundred bytes expands to billions).
MAX_EXPANDED_NODES = 100_000


def _kind(node: yaml.Node) -> str:
    """ "scalar", "sequence" or "mapping". By the node's `id`, not its class: the C loader
    builds nodes of the classes it saw at import, which may not be `yaml.MappingNode` if the
    `yaml` module was imported again (as pytest's in-process runs do)."""
    return getattr(node, "id", "")


def _check_expansion(root: yaml.Node, path: str, line_offset: int) -> None:
    """Refuse a document whose aliases expand past MAX_EXPANDED_NODES, and text that UTF-8
    cannot encode (a lone surrogate from a `\\ud800` escape), before anything is built."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size and not children_done:
            continue
        if _kind(node) == "scalar":
            if LONE_SURROGATE.search(node.value):
                line, col = _pos(node.start_mark, line_offset)
                raise TemplateError(
                    "text holds a lone surrogate (a \\ud800-\\udfff escape), which UTF-8"
                    " cannot encode",
                    path=path,
                    line=line,
                    col=col,
                )
            size[key] = 1
            continue
        items = (
            [n for pair in node.value for n in pair]
            if _kind(node) == "mapping"
            else list(node.value)
        )
        if not children_done:
            size[key] = 0  # in progress: a cycle counts once
            stack.append((node, True))
            stack.extend((child, False) for child in items if id(child) not in size)
            continue
        total = 1 + sum(size.get(id(child), 1) for child in items)
        size[key] = total
        if total > MAX_EXPANDED_NODES and total > 2 * len(size):  # aliases, not plain size
            line, col = _pos(node.start_mark, line_offset)
            raise TemplateError(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} values",
                path=path,
                line=line,
                col=col,
                hint="write the value out instead of repeating aliases of aliases",
            )


def parse_yaml(text: str, path: str, *, line_offset: int = 0) -> YamlDoc:
    """Parse one YAML document with positions. Raises TemplateError on any YAML problem."""
    bad = LONE_SURROGATE.search(text)
    if bad is not None:  # not UTF-8: no YAML reader takes it
        line = text.count("\n", 0, bad.start()) + 1
        col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise TemplateError(
            "text holds a lone surrogate, which UTF-8 cannot encode",
            path=path,
            line=line + line_offset,
            col=col,
        )
    try:
        loader = (_PyLoader if _may_nest_deeply(text) else _Loader)(text)
        try:
            node = loader.get_single_node()
            lines: Lines = {}
            if node is not None:
                _check_expansion(node, path, line_offset)
                _walk(node, text, lines, line_offset, path)
                data = loader.construct_document(node)
            else:
                data = None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark, line_offset)
        problem = exc.problem or exc.context or "invalid YAML"
        raise TemplateError(f"invalid YAML: {problem}", path=path, line=line, col=col) from None
    except yaml.reader.ReaderError as exc:  # characters YAML does not allow
        line = text.count("\n", 0, exc.position) + 1 + line_offset
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        message = f"invalid YAML: character #x{char:04x} is not allowed ({exc.reason})"
        raise TemplateError(message, path=path, line=line, col=col) from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"invalid YAML: {exc}", path=path, line=1, col=1) from None
    except RecursionError:
        raise TemplateError("invalid YAML: nested too deeply", path=path, line=1, col=1) from None
    return YamlDoc(data, lines)


def _loc_key(loc: Sequence[int | str], lines: Lines) -> str:
    """The longest known dotted key for a pydantic error location."""
    best = ""
    parts: list[str] = []
    for part in loc:
        parts.append(str(part))
        dotted = ".".join(parts)
        if dotted in lines:
            best = dotted
    return best


def validate_spec(
    data: Any, lines: Lines, path: str, *, key_map: dict[str, str] | None = None
) -> TemplateSpec:
    """Validate parsed data into a TemplateSpec; errors name the file:line:col of the key.

    `key_map` renames spec keys to source keys (for formats whose keys differ, like Prompty).
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise TemplateError(
            f"a template must be a mapping of keys (`id`, `template`, `cases`, ...), not {kind}",
            path=path,
            line=1,
            col=1,
        )
    try:
        spec = TemplateSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        errors = exc.errors(include_url=False)
        # Every strict prefix of an error's location: a container whose error was caused by
        # an error inside it (the inner one is reported). A set keeps this linear.
        containers = {tuple(e["loc"])[:i] for e in errors for i in range(len(e["loc"]))}
        for err in errors:
            loc = tuple(err["loc"])
            if loc in containers:
                continue
            dotted = ".".join(str(p) for p in err["loc"])
            key = _loc_key(err["loc"], lines)
            if key_map:
                key = key_map.get(key, key)
            line, col = lines.get(key, (1, 1))
            where = f"`{dotted}`: " if dotted else ""
            problems.append((line, col, f"{where}{err['msg']}"))
        raise _grouped(problems, path) from None
    except (RecursionError, TypeError, ValueError) as exc:
        raise TemplateError(f"invalid template: {exc}", path=path, line=1, col=1) from None
    problems = list(_case_type_problems(spec, lines, key_map))
    if problems:
        raise _grouped(problems, path)
    return spec.with_source(path, lines)


def _grouped(problems: list[tuple[int, int, str]], path: str) -> TemplateError:
    """One error per problem, in file order: the first carries the others (`more`)."""
    problems.sort()
    errors = [TemplateError(msg, path=path, line=ln, col=col) for ln, col, msg in problems]
    errors[0].more = tuple(errors[1:])
    return errors[0]


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list, tuple),
    "object": (dict,),
}


def _case_type_problems(
    spec: TemplateSpec, lines: Lines, key_map: dict[str, str] | None
) -> Iterator[tuple[int, int, str]]:
    """Case values that do not have their declared variable's type (`entity: 42` for a
    `type: string` variable). None is accepted for optional variables."""
    for i, case in enumerate(spec.cases):
        for name, value in case.vars.items():
            var = spec.variables.get(name)
            if var is None or (value is None and not var.required):
                continue
            ok = isinstance(value, _PY_TYPES[var.type])
            if var.type in ("integer", "number") and isinstance(value, bool):
                ok = False
            if ok:
                continue
            key = f"cases.{i}.vars.{name}"
            if key_map:
                key = key_map.get(key, key)
            line, col = lines.get(key, lines.get(f"cases.{i}", (1, 1)))
            got = type(value).__name__
            yield (
                line,
                col,
                f"`cases.{i}.vars.{name}`: expected {var.type} (variable `{name}` is"
                f" `type: {var.type}`), got {got} {value!r}"[:300],
            )
