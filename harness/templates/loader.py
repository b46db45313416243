"""Load template files (YAML, or Prompty) into `TemplateSpec`s, with file:line:col errors.

The YAML is composed into nodes first, so every key's position is known: schema errors point
at the key that is wrong, duplicate keys at the second occurrence. `.prompty` files go through
`harness.templates.prompty`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import TemplateError
from harness.templates.prompty import parse_prompty
from harness.templates.spec import TemplateSpec
from harness.templates.yamldoc import parse_yaml, validate_spec

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".prompty")


@dataclass(frozen=True, slots=True)
class LoadResult:
    specs: tuple[TemplateSpec, ...]
    errors: tuple[TemplateError, ...]


def parse_template(text: str, path: str = "<memory>") -> TemplateSpec:
    """Parse YAML template text. Raises TemplateError (and only that) with path:line:col."""
    doc = parse_yaml(text, path)
    return validate_spec(doc.data, doc.lines, path)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(f"not UTF-8 text: {exc.reason}", path=str(path), line=1) from None
    except OSError as exc:
        raise TemplateError(f"cannot read file: {exc.strerror}", path=str(path)) from None


def load_template(path: Path) -> TemplateSpec:
    """Load one template file (.yaml, .yml or .prompty). Raises TemplateError."""
    text = read_text(path)
    if path.suffix == ".prompty":
        return parse_prompty(text, str(path))
    return parse_template(text, str(path))


def is_excluded(path: Path, exclude: Iterable[str]) -> bool:
    """Whether a glob pattern matches the file name, its path, or a path suffix."""
    posix = path.as_posix()
    for pattern in exclude:
        if fnmatch.fnmatch(path.name, pattern) or fnmatch.fnmatch(posix, pattern):
            return True
        if fnmatch.fnmatch(posix, f"*/{pattern.lstrip('/')}"):
            return True
    return False


def find_template_files(paths: Sequence[Path], exclude: Iterable[str] = ()) -> list[Path]:
    """Expand directories to their template files (sorted). Files named explicitly are kept
    even when an exclude pattern matches them; missing paths are kept so loading reports them.
    """
    exclude = tuple(exclude)
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.suffix in TEMPLATE_SUFFIXES and p.is_file()
            )
            found.extend(p for p in files if not is_excluded(p, exclude))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def load_templates(paths: Sequence[Path], exclude: Iterable[str] = ()) -> LoadResult:
    """Load every template under `paths`. One bad file never stops the others."""
    specs: list[TemplateSpec] = []
    errors: list[TemplateError] = []
    first: dict[str, TemplateSpec] = {}
    for path in find_template_files(paths, exclude):
        try:
            spec = load_template(path)
        except TemplateError as exc:
            errors.extend(e for e in exc.all() if isinstance(e, TemplateError))
            continue
        other = first.get(spec.id)
        if other is not None:  # two files, one id: which one runs is not a silent choice
            line, col = spec.line_of("id")
            errors.append(
                TemplateError(
                    f"duplicate template id {spec.id!r}: also the id of {other.path}",
                    path=spec.path,
                    line=line,
                    col=col,
                    hint="give every template its own `id`",
                )
            )
            continue
        first[spec.id] = spec
        specs.append(spec)
    return LoadResult(tuple(specs), tuple(errors))
