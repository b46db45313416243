"""Import Microsoft Prompty files (`.prompty`) as `TemplateSpec`s.

A Prompty file is YAML front matter between `---` lines, then a Jinja2 body split into
messages by role marker lines (`system:`, `user:`, `assistant:`). When the body writes the
markers itself (`{% for m in history %}{{ m.role }}:`), repeats a role or has assistant
turns, the roles are found after rendering, as Prompty's runtime does (`split_roles`).
Inputs come from `inputs:` (name -> {type, description, default}, or name -> sample value
as shorthand), or, in the legacy format, from `sample:`. `model.parameters` become the
request params. Line numbers in the resulting spec point into the .prompty file.
"""

from __future__ import annotations

import re
from typing import Any

from harness.errors import TemplateError
from harness.templates.spec import TemplateSpec
from harness.templates.yamldoc import VALUE_SUFFIX, Lines, parse_yaml, validate_spec

_ROLE_LINE = re.compile(r"^\s*#?\s*(system|user|assistant)\s*:\s*$", re.IGNORECASE)
_TYPES = {
    "string": "string",
    "str": "string",
    "integer": "integer",
    "int": "integer",
    "number": "number",
    "float": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "list",
    "list": "list",
    "object": "object",
    "dict": "object",
}


def _infer_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "string"


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.strip().lower()).strip("-_")
    return slug or "prompty"


def _split(text: str, path: str) -> tuple[str, int, list[str]]:
    """Front matter text, the 1-based file line where the body starts, and the body lines."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise TemplateError(
            "a .prompty file must start with `---` and YAML front matter", path=path, line=1, col=1
        )
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), i + 2, lines[i + 1 :]
    raise TemplateError("front matter is not closed by a `---` line", path=path, line=1, col=1)


def _variables(meta: dict[str, Any], lines: Lines, out_lines: Lines) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    inputs = meta.get("inputs") or {}
    if not isinstance(inputs, dict):
        line = lines.get("inputs", (1, 1))
        raise TemplateError("`inputs` must be a mapping of input names", line=line[0], col=line[1])
    for name, decl in inputs.items():
        key = str(name)
        if isinstance(decl, dict) and ({"type", "description", "default", "sample"} & set(decl)):
            var: dict[str, Any] = {
                "type": _TYPES.get(str(decl.get("type", "string")).lower(), "string"),
                "description": str(decl.get("description", "")),
            }
            default = decl.get("default", decl.get("sample"))
            if default is not None:
                var["default"] = default
            if "required" in decl:
                var["required"] = decl["required"]
        else:  # shorthand: name: sample value
            var = {"type": _infer_type(decl), "default": decl}
        variables[key] = var
        for suffix in ("", ".type", ".description", ".default"):
            if f"inputs.{key}{suffix}" in lines:
                out_lines[f"variables.{key}{suffix}"] = lines[f"inputs.{key}{suffix}"]
    sample = meta.get("sample")
    if isinstance(sample, dict):
        for name, value in sample.items():
            key = str(name)
            if key not in variables:
                variables[key] = {"type": _infer_type(value)}
                out_lines[f"variables.{key}"] = lines.get(f"sample.{key}", (1, 1))
    return variables


#: A role marker the Jinja body writes itself (`{{ item.role }}:`), and block tags.
_DYNAMIC_MARKER = re.compile(r"^\s*#?\s*\{\{[^}]*\}\}\s*:\s*$")
_BLOCK_TAG = re.compile(r"\{%-?\s*(for|if|macro|call|filter|set)\b")


def _roles_after_rendering(body: list[str]) -> bool:
    """Whether the roles can only be found in the rendered body, as Prompty's runtime does:
    a marker the body writes itself, a marker inside a `{% for %}` / `{% if %}` block, an
    `assistant:` turn, or a role given twice (a conversation)."""
    depth = 0
    seen: list[str] = []
    for raw in body:
        if _DYNAMIC_MARKER.match(raw):
            return True
        match = _ROLE_LINE.match(raw)
        if match:
            role = match.group(1).lower()
            if depth or role == "assistant" or role in seen:
                return True
            seen.append(role)
        depth += len(_BLOCK_TAG.findall(raw)) - len(re.findall(r"\{%-?\s*end", raw))
        depth = max(depth, 0)
    return False


def _messages(body: list[str], first_line: int, path: str) -> tuple[dict[str, str], Lines]:
    """Split the body on role marker lines into `system` / `template` texts and positions."""
    parts: dict[str, list[str]] = {}
    lines: Lines = {}
    current = "template"
    start = first_line
    chunk: list[str] = []

    def flush() -> None:
        if any(s.strip() for s in chunk):
            if current in parts:
                raise TemplateError(
                    f"more than one `{'system' if current == 'system' else 'user'}:` section",
                    path=path,
                    line=start - 1,
                    col=1,
                )
            # Leading blank lines are dropped; the recorded line is the first kept one.
            skip = next(i for i, s in enumerate(chunk) if s.strip())
            parts[current] = chunk[skip:]
            lines[current] = (start - 1 if start > first_line else start, 1)
            lines[current + VALUE_SUFFIX] = (start + skip, 1)

    for offset, raw in enumerate(body):
        match = _ROLE_LINE.match(raw)
        if match:
            flush()
            role = match.group(1).lower()
            if role == "assistant":
                raise TemplateError(
                    "assistant turns are not supported; keep one `system:` and one `user:` section",
                    path=path,
                    line=first_line + offset,
                    col=1,
                )
            current = "system" if role == "system" else "template"
            start = first_line + offset + 1
            chunk = []
        else:
            chunk.append(raw)
    flush()
    texts = {field: "\n".join(text).rstrip() + "\n" for field, text in parts.items()}
    return texts, lines


def parse_prompty(text: str, path: str = "<memory>") -> TemplateSpec:
    """Parse Prompty text into a TemplateSpec. Raises TemplateError with file:line:col."""
    front, body_line, body = _split(text, path)
    doc = parse_yaml(front, path, line_offset=1)
    meta = doc.data if doc.data is not None else {}
    if not isinstance(meta, dict):
        raise TemplateError("front matter must be a mapping", path=path, line=2, col=1)
    src = doc.lines
    out: Lines = {}
    try:
        variables = _variables(meta, src, out)
    except TemplateError as exc:
        exc.path = path
        raise
    split_roles = _roles_after_rendering(body)
    if split_roles:
        texts = {"template": "\n".join(body).strip("\n") + "\n"}
        skip = next((i for i, s in enumerate(body) if s.strip()), 0)
        text_lines: Lines = {"template": (body_line + skip, 1)}
        text_lines["template" + VALUE_SUFFIX] = (body_line + skip, 1)
    else:
        texts, text_lines = _messages(body, body_line, path)
    if "template" not in texts:
        raise TemplateError("no `user:` prompt in the body", path=path, line=body_line, col=1)
    out.update(text_lines)

    name = str(meta.get("name") or path.rsplit("/", 1)[-1].removesuffix(".prompty"))
    data: dict[str, Any] = {
        "id": _slug(name),
        "description": str(meta.get("description") or ""),
        "variables": variables,
        "template": texts["template"],
    }
    if split_roles:
        data["split_roles"] = True
    for key, target in (("name", "id"), ("description", "description"), ("inputs", "variables")):
        if key in src:
            out[target] = src[key]
    if "system" in texts:
        data["system"] = texts["system"]
    if meta.get("version") is not None:
        data["version"] = str(meta["version"])
    tags = meta.get("tags")
    if isinstance(tags, list):
        data["tags"] = [str(t) for t in tags]

    model = meta.get("model")
    params = model.get("parameters") if isinstance(model, dict) else None
    if params is not None:
        data["params"] = params
        for key, pos in src.items():
            if key.startswith("model.parameters"):
                out["params" + key.removeprefix("model.parameters")] = pos

    sample = meta.get("sample")
    if isinstance(sample, dict):
        data["cases"] = [{"name": "sample", "vars": sample}]
        out["cases"] = out["cases.0"] = src.get("sample", (2, 1))
        for key, pos in src.items():
            if key.startswith("sample."):
                out["cases.0.vars" + key.removeprefix("sample")] = pos
    elif sample is not None:
        pos = src.get("sample", (2, 1))
        raise TemplateError(
            "`sample` must be a mapping of input values (sample files are not supported)",
            path=path,
            line=pos[0],
            col=pos[1],
        )
    else:
        data["cases"] = [{"name": "default", "vars": {}}]
    # Harness keys Prompty itself ignores: what the generated code is checked for.
    for key in ("expect", "min_score", "samples"):
        if key in meta:
            data[key] = meta[key]
            out.update({k: v for k, v in src.items() if k == key or k.startswith(key + ".")})
    return validate_spec(data, out, path)
