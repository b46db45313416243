"""Find the Python code in a model's reply: fenced blocks, file headers, or the bare reply.

Pure: text in, `Extraction` out. It never raises; parse errors are the engine's business.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from harness.code.unit import CodeUnit, Role, role_from_path

Outcome = Literal["code", "no-code", "truncated"]

PYTHON_TAGS = frozenset({"python", "py", "python3", "py3", "python3.11", "python3.12"})

# An opening fence: 3+ backticks or tildes, then an info string (language, maybe a path).
# (The info string is stripped in code: a lazy `.*?` before `[ \t]*$` backtracks
# quadratically on a long line of spaces.)
FENCE_OPEN_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# A path the model names: `app/models.py`, `models.py`, `app\models.py`.
PATH_TOKEN_RE = re.compile(r"(?<![\w/.\\:-])((?:[\w.-]+[/\\])*[\w.-]*\w\.pyi?)(?![\w/])")
# A header comment on the block's first line: `# file: app/models.py`, `# app/models.py`.
HEADER_COMMENT_RE = re.compile(
    r"^#\s*(?:(?:file(?:name)?|path|module)\s*[:=]?\s*)?`?"
    r"(?P<path>(?:[\w.-]+[/\\])*[\w.-]*\w\.pyi?)`?\s*$",
    re.IGNORECASE,
)
# The first line of bare code (no fences) that does not parse yet still is code.
CODE_START_RE = re.compile(
    r"^(from\s+[\w.]+\s+import\b|import\s+\w|(async\s+)?def\s+\w+\s*\(|class\s+\w+\s*[(:]|@\w)"
)
_LABEL_MAX = 120  # a line before a fence longer than this is prose, not a file label
# Any file a label or an info string may name: `requirements.txt`, `.gitignore`,
# `docker-compose.yml`, `Dockerfile`, `app/models.py`.
_OTHER_EXTENSIONS = (
    "txt|md|markdown|rst|toml|ya?ml|json|ini|cfg|conf|env|sh|bash|zsh|ps1|bat|sql|html?|css"
    "|jsx?|tsx?|lock|xml|csv|dockerfile|mako|j2|jinja2?"
)
FILE_TOKEN_RE = re.compile(
    rf"(?<![\w/.\\:-])((?:[\w.-]+[/\\])*(?:[\w.-]*\w\.(?:{_OTHER_EXTENSIONS})"
    r"|\.(?:gitignore|dockerignore|env(?:\.\w+)?|flake8|editorconfig|pre-commit-config\.ya?ml)"
    r"|Dockerfile|Makefile|Procfile))(?![\w/.])",
    re.IGNORECASE,
)
#: Info strings of blocks that hold Markdown, which may hold fences of their own.
MARKDOWN_TAGS = frozenset({"markdown", "md", "mdx"})
# Lines that begin a directory tree or a shell session, never Python.
_SHELL_COMMANDS = "pip|pip3|uv|poetry|npm|docker|curl|uvicorn|alembic|cd|mkdir|export|source"
TREE_OR_SHELL_RE = re.compile(rf"^(?:[│├└┌|`+\\]|\$ |[\w.-]+/\s*$|(?:{_SHELL_COMMANDS})\s)")


@dataclass(frozen=True, slots=True)
class Extraction:
    """What was found in one reply. `detail` says why, for reports."""

    outcome: Outcome
    units: tuple[CodeUnit, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Block:
    lang: str  # lower-cased first word of the info string ("" when untagged)
    info_path: str | None
    label_path: str | None  # path named on the line just before the fence
    lines: tuple[str, ...]
    first_line: int  # 1-based line of the first code line in the reply
    closed: bool
    fence: str
    open_line: int


def extract(
    reply: str | None,
    *,
    role: Role = Role.OTHER,
    default_path: str = "generated.py",
    finish_reason: str | None = None,
) -> Extraction:
    """Split a reply into code units. Never raises."""
    try:
        return _extract(reply or "", role, default_path, finish_reason)
    except Exception as exc:  # defensive: a reply must never crash a run
        return Extraction("no-code", (), f"cannot extract code: {type(exc).__name__}: {exc}")


def _extract(reply: str, role: Role, default_path: str, finish_reason: str | None) -> Extraction:
    cut_off = finish_reason == "length"
    if not reply.strip():
        return Extraction("truncated" if cut_off else "no-code", (), "empty reply")
    lines = reply.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks = _blocks(lines)
    if not blocks:
        return _bare(lines, role, default_path, cut_off)

    tagged = [b for b in blocks if _is_python_block(b)]
    others = sorted({b.lang for b in blocks if b.lang and b.lang not in PYTHON_TAGS})
    candidates = [b for b in blocks if _is_python_block(b) or _untagged_python(b, bool(tagged))]
    placeholders = [b for b in candidates if not _has_code(b.lines)]
    chosen = [b for b in candidates if _has_code(b.lines)]
    unclosed = next((b for b in blocks if not b.closed), None)
    units = _units(chosen, role, default_path)
    if not units:
        found = f" (found: {', '.join(others)})" if others else ""
        detail = f"no Python code block{found}"
        if placeholders:
            detail += f"; {len(placeholders)} placeholder block(s) with comments only"
        if unclosed is not None or cut_off:
            return Extraction("truncated", (), f"{detail}; reply was cut off")
        return Extraction("no-code", (), detail)

    detail = f"{len(units)} code block{'s' if len(units) != 1 else ''}"
    skipped = len(tagged) + sum(b.lang == "" for b in blocks) - len(units)
    if skipped:
        detail += f" ({skipped} skipped)"
    if unclosed is not None and unclosed in chosen:
        # Where the text was cut decides: a block the model never closed is cut off when the
        # reply hit its length limit, or when nothing says why it ended and the code does not
        # parse; a model that stopped on its own just forgot the fence.
        if cut_off or (finish_reason is None and not _parses_as_module(unclosed.lines)):
            return Extraction(
                "truncated",
                units,
                f"unclosed {unclosed.fence} fence opened at line {unclosed.open_line}",
            )
        detail += (
            f"; the {unclosed.fence} fence opened at line {unclosed.open_line} is never closed"
        )
    if cut_off:
        return Extraction("truncated", units, f"{detail}; reply was cut off (finish_reason=length)")
    return Extraction("code", units, detail)


def _is_python_block(block: _Block) -> bool:
    """Tagged Python, or named a Python file in its info string."""
    return block.lang in PYTHON_TAGS


def _untagged_python(block: _Block, tagged_exist: bool) -> bool:
    """An untagged block is Python unless its label names another kind of file, or it is a
    directory tree or a shell session; beside tagged blocks, only if it parses."""
    if block.lang != "":
        return False
    if block.label_path is not None and not is_python_path(block.label_path):
        return False
    first = next((ln.strip() for ln in block.lines if ln.strip()), "")
    if TREE_OR_SHELL_RE.match(first):
        return False
    return not tagged_exist or _parses_as_module(block.lines)


def _has_code(lines: tuple[str, ...]) -> bool:
    """Anything but blank lines and comments (`# empty file` is a placeholder, not code)."""
    return any(ln.strip() and not ln.lstrip().startswith("#") for ln in lines)


def _blocks(lines: list[str]) -> list[_Block]:
    """Fenced blocks, CommonMark style: the closing fence uses the same character, as long."""
    blocks: list[_Block] = []
    i, n = 0, len(lines)
    while i < n:
        match = FENCE_OPEN_RE.match(lines[i])
        if match is None or (match.group("fence")[0] == "`" and "`" in match.group("info")):
            i += 1
            continue
        fence, indent = match.group("fence"), len(match.group("indent").expandtabs(4))
        lang, info_path = _parse_info(match.group("info").strip(" \t"))
        close_re = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        # A Markdown block (a README) may hold fenced blocks itself: a fence with an info
        # string opens one, and a bare fence closes the innermost.
        nested = lang in MARKDOWN_TAGS
        depth = 0
        body: list[str] = []
        j = i + 1
        while j < n:
            if close_re.match(lines[j]):
                if depth == 0:
                    break
                depth -= 1
            elif (
                nested and (inner := FENCE_OPEN_RE.match(lines[j])) and inner.group("info").strip()
            ):
                depth += 1
            body.append(_dedent(lines[j], indent))
            j += 1
        closed = j < n
        if not closed:  # drop the trailing empty line a cut-off reply often ends with
            while body and not body[-1].strip():
                body.pop()
        blocks.append(
            _Block(
                lang=lang,
                info_path=info_path,
                label_path=_label_path(lines, i),
                lines=tuple(body),
                first_line=i + 2,
                closed=closed,
                fence=fence,
                open_line=i + 1,
            )
        )
        i = j + 1
    return blocks


def _parse_info(info: str) -> tuple[str, str | None]:
    """`python`, `python app/models.py`, `py:app/models.py`, `{.python}` -> (lang, path)."""
    info = info.strip().strip("{}").lstrip(".")
    if not info:
        return "", None
    head = re.split(r"[\s:]", info, maxsplit=1)[0]
    if head.lower().endswith((".py", ".pyi")):  # ```app/models.py
        return "python", head
    path_match = PATH_TOKEN_RE.search(info[len(head) :].lstrip(":"))
    return head.lower(), path_match.group(1) if path_match else None


def _dedent(line: str, indent: int) -> str:
    """Remove up to `indent` columns of the fence's own indentation."""
    k = 0
    while k < len(line) and k < indent and line[k] in " \t":
        k += 1
    return line[k:]


def _label_path(lines: list[str], fence_index: int) -> str | None:
    """A path on the line just before the fence (one blank line allowed in between)."""
    for k in (fence_index - 1, fence_index - 2):
        if k < 0:
            return None
        text = lines[k].strip()
        if not text:
            continue
        if len(text) > _LABEL_MAX or FENCE_OPEN_RE.match(text):
            return None
        match = PATH_TOKEN_RE.search(text) or FILE_TOKEN_RE.search(text)
        return match.group(1) if match else None
    return None


def is_python_path(path: str) -> bool:
    return path.lower().endswith((".py", ".pyi"))


def _header_path(lines: tuple[str, ...]) -> str | None:
    for line in lines:
        if line.strip():
            match = HEADER_COMMENT_RE.match(line.strip())
            return match.group("path") if match else None
    return None


def _units(blocks: list[_Block], role: Role, default_path: str) -> tuple[CodeUnit, ...]:
    units: list[CodeUnit] = []
    unnamed = 0
    for block in blocks:
        label = block.label_path if block.label_path and is_python_path(block.label_path) else None
        path = _header_path(block.lines) or block.info_path or label
        if path is None:
            unnamed += 1
            path = _numbered(default_path, unnamed)
        lines, added = _as_module(block.lines)
        units.append(_unit(_source(lines), path, role, block.first_line - added))
    return tuple(units)


#: The line put before a block indented as a class body (methods lifted from their class).
FRAGMENT_CLASS = "class Fragment:  # added by prompt-harness: the reply's code is indented"
_METHOD_RE = re.compile(r"^(?:async\s+)?def\s+\w+\s*\(\s*(?:self|cls)\b")


def _as_module(lines: tuple[str, ...]) -> tuple[tuple[str, ...], int]:
    """A block indented as a whole is a fragment: methods of a class (`def get(self, ...)`)
    get a class line before them, so they stay methods and keep their columns; other code
    is dedented. Returns the lines and how many were added before them."""
    dedented = tuple(textwrap.dedent("\n".join(lines)).split("\n"))
    if dedented == tuple(ln if ln.strip() else "" for ln in lines):
        return lines, 0  # no margin
    code = (
        ln for ln in dedented if ln.strip() and not ln.lstrip().startswith("#") and ln[0] != "@"
    )
    if _METHOD_RE.match(next(code, "")):
        wrapped = (FRAGMENT_CLASS, *lines)
        if _parses(wrapped):
            return wrapped, 1
    return (dedented, 0) if _parses(dedented) else (lines, 0)


def _unit(source: str, path: str, role: Role, first_line: int) -> CodeUnit:
    """The path's role wins (`app/services/x.py` is a service); else the caller's role."""
    path = path.replace("\\", "/")
    path_role = role_from_path(path)
    role = path_role if path_role is not Role.OTHER else role
    return CodeUnit(source=source, path=path, role=role, first_line=first_line)


def _numbered(path: str, n: int) -> str:
    if n == 1:
        return path
    p = PurePosixPath(path)
    return str(p.with_name(f"{p.stem}_{n}{p.suffix}"))


def _source(lines: tuple[str, ...] | list[str]) -> str:
    text = "\n".join(lines)
    return text if text.endswith("\n") else text + "\n"


def _parses(lines: tuple[str, ...] | list[str]) -> bool:
    return _parse_tree(_source(lines)) is not None


def _parses_as_module(lines: tuple[str, ...]) -> bool:
    return _parses(_as_module(lines)[0])


#: Python's parser takes quadratic time on some long malformed lines; text past these is
#: not parsed here (the checker's own limits then decide).
PARSE_MAX_CHARS = 400_000
PARSE_MAX_LINE = 20_000


def _parse_tree(source: str) -> ast.Module | None:
    if len(source) > PARSE_MAX_CHARS or max(map(len, source.split("\n"))) > PARSE_MAX_LINE:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return compile(source, "<reply>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def _looks_like_code(tree: ast.Module) -> bool:
    """A sentence like `Done` parses as a name; code has at least one real statement."""
    return any(
        not isinstance(stmt, ast.Expr) or isinstance(stmt.value, ast.Call | ast.Await)
        for stmt in tree.body
    )


def _bare(lines: list[str], role: Role, default_path: str, cut_off: bool) -> Extraction:
    """No fences: the whole reply is code only if it parses, or plainly starts like code."""
    source = _source(lines)
    tree = _parse_tree(source)
    if tree is not None:
        if not _looks_like_code(tree):
            return Extraction("no-code", (), "no code block, and the reply is not Python code")
        detail = "no code block; the whole reply is Python code"
    else:
        first = next((s.strip() for s in lines if s.strip()), "")
        if not CODE_START_RE.match(first):
            if cut_off:
                return Extraction("truncated", (), "no code found; reply was cut off")
            return Extraction("no-code", (), "no code block, and the reply is not Python code")
        detail = "no code block; the reply starts as Python code but does not parse"
    unit = _unit(source, _header_path(tuple(lines)) or default_path, role, 1)
    if cut_off:
        return Extraction("truncated", (unit,), f"{detail}; reply was cut off")
    return Extraction("code", (unit,), detail)
