"""`check-code` over a generated multi-file FastAPI tree, next to bare libcst parses of it.

Writes a tree of `--files` Python files (packages of models, schemas, crud, services and
routers that import each other) to a temporary directory, then measures, interleaved over
`-n` repetitions:
  (a) reading and `libcst.parse_module` of every file, kept in memory (the bare cost);
  (b) `check_units` over the same files as one project: parse, the project's symbol table,
      the facts of every unit, the batched rule pass and positions;
  (c) `harness check-code --no-ruff DIR` end to end in a subprocess (interpreter start,
      file discovery, the supervised worker, output).
Prints medians per file, the ratios (b)/(a) and (c)/(a), and the peak Python memory of (a)
and (b) per file (tracemalloc).

    python benchmarks/bench_project.py [--files 300] [-n 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import libcst as cst

from harness.code.engine import RuleSet, check_units
from harness.code.unit import CodeUnit

DATABASE = """from sqlalchemy.orm import DeclarativeBase, sessionmaker

class Base(DeclarativeBase):
    pass

SessionLocal = sessionmaker()
"""
MODEL = """from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base
from app.models.mixins import TimestampMixin


class Thing{i}(Base, TimestampMixin):
    __tablename__ = "thing{i}"

    id: Mapped[int] = mapped_column(primary_key=True)
    name = Column(String(100))
    owner_id = Column(Integer, ForeignKey("users.id"))
    items = relationship("Item", backref="thing{i}")
"""
MIXINS = """from datetime import datetime

from sqlalchemy import Column, DateTime


class TimestampMixin:
    created_at = Column(DateTime, default=datetime.utcnow)
"""
SCHEMA = """from pydantic import BaseModel, Field


class Thing{i}Base(BaseModel):
    name: str = Field(max_length=100)

    class Config:
        orm_mode = True


class Thing{i}Create(Thing{i}Base):
    id: int


class Thing{i}Update(Thing{i}Base):
    pass


class Thing{i}Read(Thing{i}Base):
    id: int
"""
CRUD = """from sqlalchemy.orm import Session

from app import models, schemas


def create_thing{i}(db: Session, data: schemas.thing{i}.Thing{i}Create):
    row = models.thing{i}.Thing{i}(**data.dict())
    db.add(row)
    db.commit()
    return row


def list_thing{i}(db: Session) -> list[models.thing{i}.Thing{i}]:
    return db.query(models.thing{i}.Thing{i}).all()
"""
SERVICE = """import logging

from fastapi import HTTPException

from app.crud import thing{i} as crud

logger = logging.getLogger(__name__)


def get_all(db):
    try:
        return crud.list_thing{i}(db)
    except Exception:
        logger.exception("failed")
        return []


def require(db, thing_id):
    rows = get_all(db)
    if not rows:
        raise HTTPException(status_code=404)
    return rows[0]
"""
ROUTER = """from fastapi import APIRouter, Depends

from app.crud import thing{i} as crud
from app.schemas.thing{i} import Thing{i}Read

router = APIRouter()


@router.get("/thing{i}", response_model=list[Thing{i}Read])
def listing(db=Depends(lambda: None)):
    return crud.list_thing{i}(db)
"""
KINDS = (("models", MODEL), ("schemas", SCHEMA), ("crud", CRUD), ("services", SERVICE))


def write_tree(root: Path, files: int) -> list[Path]:
    app = root / "app"
    (app / "models").mkdir(parents=True)
    for pkg in ("schemas", "crud", "services", "routers"):
        (app / pkg).mkdir()
    (app / "__init__.py").write_text("")
    (app / "database.py").write_text(DATABASE)
    (app / "models" / "mixins.py").write_text(MIXINS)
    written = 3
    i = 0
    while written < files:
        for pkg, text in (*KINDS, ("routers", ROUTER)):
            if written >= files:
                break
            (app / pkg / f"thing{i}.py").write_text(text.format(i=i))
            written += 1
        i += 1
    return sorted(root.rglob("*.py"))


def parse_all(paths: list[Path]) -> list[cst.Module]:
    return [cst.parse_module(p.read_text()) for p in paths]


def check_all(paths: list[Path], root: Path, ruleset: RuleSet) -> int:
    units = [CodeUnit.from_path(p.as_posix(), p.read_text()) for p in paths]
    names = [p.relative_to(root).as_posix() for p in paths]
    results = check_units(units, ruleset, names=names)
    return sum(len(r.findings) for r in results)


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def peak(fn: object, *args: object) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn(*args)  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def cli(root: Path) -> None:
    cmd = [sys.executable, "-m", "harness.cli", "check-code", "--no-ruff", str(root)]
    subprocess.run(cmd, capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("-n", type=int, default=5, help="repetitions")
    args = parser.parse_args()
    ruleset = RuleSet.build()
    with tempfile.TemporaryDirectory(prefix="harness-bench-tree-") as tmp:
        root = Path(tmp)
        paths = write_tree(root, args.files)
        n_files = len(paths)
        findings = check_all(paths, root, ruleset)  # warm-up
        parse_t: list[float] = []
        check_t: list[float] = []
        cli_t: list[float] = []
        for rep in range(args.n):
            order = (parse_all, check_all, cli) if rep % 2 == 0 else (cli, check_all, parse_all)
            for fn in order:
                if fn is parse_all:
                    parse_t.append(timed(parse_all, paths))
                elif fn is check_all:
                    check_t.append(timed(check_all, paths, root, ruleset))
                else:
                    cli_t.append(timed(cli, root))
        parse_peak = peak(parse_all, paths)
        check_peak = peak(check_all, paths, root, ruleset)
    p, c, e = (statistics.median(t) for t in (parse_t, check_t, cli_t))
    print(f"{n_files} files, {findings} findings, {len(ruleset.rules)} code rules, n={args.n}")
    print(f"bare read + libcst parse:   {p / n_files * 1e3:7.2f} ms per file (median)")
    print(
        f"check_units (one project):  {c / n_files * 1e3:7.2f} ms per file"
        f"  ratio to bare parse {c / p:.2f}"
    )
    print(
        f"harness check-code --no-ruff (subprocess, end to end): {e / n_files * 1e3:7.2f} ms"
        f" per file  ratio to bare parse {e / p:.2f}"
    )
    print(
        f"peak Python memory per file: parse {parse_peak / n_files / 1024:.0f} KiB,"
        f" check_units {check_peak / n_files / 1024:.0f} KiB"
        f" (ratio {check_peak / parse_peak:.2f})"
    )


if __name__ == "__main__":
    main()
