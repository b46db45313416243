"""The project view: the units of one directory or one reply, each with its module path, and
one symbol table over them all.

A unit's facts resolve an imported name into the project first (`from app.db import Base`
finds `Base = declarative_base()` in `app/db.py`, through re-exports and star imports), then
into the libraries. Facts are built lazily, so a unit's bases are known before it is
classified, whatever the order of the files; an import cycle sees the classes built so far.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import libcst as cst

from harness.code.facts import ClassInfo, Facts, FunctionInfo, Symbol, collect, orm_mixins
from harness.code.known import LIBRARIES
from harness.code.unit import CodeUnit

#: How many re-exports a lookup follows (`app/__init__.py` re-exporting `app.models.User`).
MAX_HOPS = 8


@dataclass(frozen=True, slots=True)
class ModulePath:
    """`app.models.user` for `src/app/models/user.py`; `package` is what relative imports in
    the file start from (`app.models`, or `app.models` itself for its `__init__.py`)."""

    name: str
    package: str


def module_path(path: str) -> ModulePath:
    """The module a file path names: `src/` layouts and `__init__.py` understood."""
    parts = [p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in ("/", ".", "..")]
    if "src" in parts[:-1]:
        parts = parts[len(parts) - 1 - parts[::-1].index("src") :][1:]
    if not parts:
        return ModulePath("", "")
    stem = parts[-1].rsplit(".", 1)[0] if parts[-1].endswith((".py", ".pyi")) else parts[-1]
    if stem == "__init__":
        name = ".".join(parts[:-1])
        return ModulePath(name, name)
    return ModulePath(".".join([*parts[:-1], stem]), ".".join(parts[:-1]))


def relative_to(path: str, root: str) -> str:
    """`path` below `root` (a directory named on the command line), else `path` itself."""
    p, r = PurePosixPath(path), PurePosixPath(root)
    try:
        return p.relative_to(r).as_posix()
    except ValueError:
        return path


class ProjectIndex:
    """The units of a project and what their module-level names are (`lookup`)."""

    def __init__(
        self, units: Sequence[tuple[CodeUnit, cst.Module]], names: Sequence[str] | None = None
    ) -> None:
        """`names` are the paths module names come from (default: the units' paths)."""
        self._units = list(units)
        self._paths = [module_path(p) for p in (names or [u.path for u, _ in units])]
        self._exact: dict[str, int] = {}
        self._suffix: dict[str, list[int]] = {}
        for i, mp in enumerate(self._paths):
            self._exact.setdefault(mp.name, i)
            parts = mp.name.split(".")
            for k in range(1, len(parts)):
                self._suffix.setdefault(".".join(parts[k:]), []).append(i)
        self._facts: dict[int, Facts] = {}
        self._busy: set[int] = set()
        self._memo: dict[str, ClassInfo | FunctionInfo | Symbol | None] = {}
        self._shared: dict[str, object] = {}
        self._ready = False

    def __len__(self) -> int:
        return len(self._units)

    def facts(self, i: int) -> Facts | None:
        """The facts of unit `i`, collected on first use; None while they are being built."""
        found = self._facts.get(i)
        if found is not None or i in self._busy:
            return found
        unit, module = self._units[i]
        self._busy.add(i)
        try:
            found = collect(
                module,
                role=unit.role,
                path=unit.path,
                package=self._paths[i].package,
                project=self,
            )
        finally:
            self._busy.discard(i)
        self._facts[i] = found
        return found

    def units(self) -> list[Facts]:
        return [f for i in range(len(self._units)) if (f := self.facts(i)) is not None]

    def shared(self, key: str, build: Callable[[], object]) -> object:
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]

    def finish(self) -> None:
        """After every unit's facts are built: mark classes of one unit that are mixins of
        ORM classes in another, and start memoizing lookups."""
        for facts in self._facts.values():
            for info in orm_mixins(facts):
                if info.facts is not facts:
                    info.facts.orm_mixins |= {info.name}
        self._ready = True

    def _find(self, module: str) -> int | None:
        """The unit that is `module`: exactly, else the one module it is a suffix of
        (`models` for `app.models` when only `app/models.py` exists), else the one module
        named by a suffix of it (a reply labelling `models.py` what it imports as
        `app.models`)."""
        i = self._exact.get(module)
        if i is not None:
            return i
        candidates = self._suffix.get(module, ())
        if len(candidates) == 1:
            return candidates[0]
        parts = module.split(".")
        for k in range(1, len(parts)):
            i = self._exact.get(".".join(parts[k:]))
            if i is not None:
                return i
        return None

    def lookup(self, qualified: str) -> ClassInfo | FunctionInfo | Symbol | None:
        """What `qualified` (`app.db.Base`) is in the project: a class, a declarative base
        factory, a Flask-SQLAlchemy instance, or None."""
        if self._ready and qualified in self._memo:
            return self._memo[qualified]
        found = self._lookup(qualified, 0)
        if self._ready:
            self._memo[qualified] = found
        return found

    def _lookup(self, qualified: str, hops: int) -> ClassInfo | FunctionInfo | Symbol | None:
        module, _, name = qualified.rpartition(".")
        if not module or hops > MAX_HOPS:
            return None
        if module.split(".", 1)[0] in LIBRARIES and module not in self._exact:
            return None
        i = self._find(module)
        if i is None:
            return None
        facts = self.facts(i)
        if facts is None:
            return None
        info = facts.classes.get(name)
        if info is not None:
            return info
        function = facts.functions.get(name)
        if function is not None:
            return function
        if name in facts.base_factories:
            return Symbol.BASE_FACTORY
        if name in facts.flask_db and name not in facts.imports:
            return Symbol.FLASK_DB
        if name in facts.sessions:
            return facts.sessions[name]
        target = facts.imports.get(name)
        if target is not None and target != qualified:
            return self._lookup(target, hops + 1)
        for star in facts.star_modules:
            found = self._lookup(f"{star}.{name}", hops + 1)
            if found is not None:
                return found
        return None
