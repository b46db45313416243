"""The project view: names resolve across the files of a directory and the blocks of a reply."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from harness.cli import main
from harness.code.engine import RuleSet, check_unit, check_units
from harness.code.extract import extract
from harness.code.facts import ClassKind, collect
from harness.code.project import ProjectIndex, module_path
from harness.code.unit import CodeUnit

PROJECT = Path(__file__).parent / "fixtures" / "project"

#: Every finding of the code rules on the fixture project: (file, code, line).
EXPECTED = {
    ("app/crud.py", "PYD003", 7),  # `.dict()` on a parameter typed with another file's schema
    ("app/crud.py", "SQA006", 14),
    ("app/database.py", "SQA007", 7),
    ("app/models/base.py", "IDS001", 9),
    ("app/models/base.py", "SQA001", 9),
    ("app/models/mixins.py", "SQA001", 7),  # a mixin of ORM classes in other files
    ("app/models/mixins.py", "SQA008", 7),
    ("app/models/task.py", "SQA003", 7),  # its base is abstract: no table from there
    ("app/models/task.py", "SQA001", 8),
    ("app/models/task.py", "IDS001", 9),
    ("app/models/task.py", "SQA005", 9),
    ("app/models/task.py", "SQA001", 9),
    ("app/models/user.py", "SQA001", 10),
    ("app/models/user.py", "SQA004", 11),
    ("app/schemas/base.py", "PYD001", 9),
    ("app/schemas/task.py", "PYD006", 6),  # fields inherited from a base in another file
    ("app/schemas/task.py", "PYD009", 6),  # a server-set field from a mixin in another file
    ("app/schemas/task.py", "PYD006", 10),
    ("app/schemas/task.py", "PYD008", 10),
    # Returned by a route from a function of another file annotated with an ORM class.
    ("app/schemas/user.py", "PYD004", 6),
    ("app/schemas/user.py", "PYD005", 8),
    ("app/schemas/user.py", "PYD005", 14),
    ("app/services/task_service.py", "EXC001", 15),
    ("app/services/task_service.py", "SVC001", 25),
}


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def _files() -> list[Path]:
    return sorted(p for p in PROJECT.rglob("*.py"))


def _rel(path: str) -> str:
    return path.split("fixtures/project/", 1)[-1]


def _reply() -> str:
    """The fixture project pasted into one Markdown reply, each file labelled."""
    parts = ["Here is the project.\n"]
    for path in _files():
        rel = path.relative_to(PROJECT).as_posix()
        parts.append(f"\n**{rel}**\n\n```python\n{path.read_text()}```\n")
    return "".join(parts)


def test_check_code_on_the_directory_reports_the_exact_findings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(["check-code", "--no-ruff", "--format", "json", str(PROJECT)], capsys)
    assert code == 1
    report = json.loads(out)
    found = {
        (_rel(f["path"]), x["code"], x["line"]) for f in report["files"] for x in f["findings"]
    }
    assert found == EXPECTED
    assert all(f["status"] == "ok" for f in report["files"])


def test_the_project_context_finds_what_single_files_miss() -> None:
    # A mixin whose ORM base lives in another file; a response model returned by a route of
    # another file.
    mixins = PROJECT / "app" / "models" / "mixins.py"
    alone = check_unit(CodeUnit.from_path("app/models/mixins.py", mixins.read_text()))
    assert "SQA001" not in {f.code for f in alone.findings}
    users = PROJECT / "app" / "schemas" / "user.py"
    alone = check_unit(CodeUnit.from_path("app/schemas/user.py", users.read_text()))
    assert "PYD004" not in {f.code for f in alone.findings}
    schemas = PROJECT / "app" / "schemas" / "task.py"
    alone = check_unit(CodeUnit.from_path("app/schemas/task.py", schemas.read_text()))
    assert alone.findings == ()


def test_a_reply_with_the_same_files_gives_the_same_findings() -> None:
    ex = extract(_reply())
    assert ex.outcome == "code"
    assert len(ex.units) == sum(bool(p.read_text().strip()) for p in _files())
    results = check_units(ex.units)
    found = {(r.unit.path, f.code, f.line) for r in results for f in r.findings}
    assert found == EXPECTED


def test_check_code_on_a_reply_points_at_the_reply_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = tmp_path / "reply.md"
    text = _reply()
    reply.write_text(text)
    lines = text.splitlines()
    code, out, _ = _run(["check-code", "--no-ruff", "--format", "json", str(reply)], capsys)
    assert code == 1
    (file,) = json.loads(out)["files"]
    assert file["path"] == reply.as_posix()
    assert len(file["findings"]) == len(EXPECTED)
    for f in file["findings"]:
        if f["code"] == "PYD003":
            assert ".dict()" in lines[f["line"] - 1]
        if f["code"] == "SQA007":
            assert "declarative_base()" in lines[f["line"] - 1]
    code, out, _ = _run(["check-code", "--no-ruff", str(reply)], capsys)
    first = out.splitlines()[0]
    path, line = first.split(":")[:2]
    assert path == reply.as_posix()
    assert int(line) > 10  # a reply line, not the block's own line
    code, out, _ = _run(["check-code", "--no-ruff", "--format", "sarif", str(reply)], capsys)
    results = json.loads(out)["runs"][0]["results"]
    regions = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results}
    assert regions == {f["line"] for f in file["findings"]}


def test_reply_from_stdin_and_forced_reply_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "Fixed:\n\n```python\ntry:\n    run()\nexcept:\n    raise\n```\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, _ = _run(["check-code", "--no-ruff", "-"], capsys)
    assert code == 1
    assert out.startswith("-:6:1: EXC002")
    log = tmp_path / "answer.log"
    log.write_text(text)
    code, out, _ = _run(["check-code", "--no-ruff", "--reply", str(log)], capsys)
    assert code == 1 and f"{log.as_posix()}:6:1: EXC002" in out


def test_nothing_to_check_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("# nothing\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(["check-code", "--no-ruff", str(empty)], capsys)
    assert code == 2 and "no Python file found" in err
    code, _, err = _run(["check-code", "--no-ruff", str(tmp_path / "README.md")], capsys)
    assert code == 2 and "no Python code in any reply" in err


@pytest.mark.parametrize(
    ("path", "name", "package"),
    [
        ("app/models/user.py", "app.models.user", "app.models"),
        ("app/models/__init__.py", "app.models", "app.models"),
        ("src/app/db.py", "app.db", "app"),
        ("backend/src/app/__init__.py", "app", "app"),
        ("models.py", "models", ""),
        ("C:\\work\\app\\main.py", "C:.work.app.main", "C:.work.app"),
    ],
)
def test_module_paths(path: str, name: str, package: str) -> None:
    mp = module_path(path)
    assert (mp.name, mp.package) == (name, package)


def _project(files: dict[str, str]) -> ProjectIndex:
    units = [
        (CodeUnit.from_path(p, textwrap.dedent(s)), cst.parse_module(textwrap.dedent(s)))
        for p, s in files.items()
    ]
    index = ProjectIndex(units)
    for i in range(len(units)):
        index.facts(i)
    index.finish()
    return index


def test_lookup_follows_reexports_star_imports_and_relative_imports() -> None:
    index = _project(
        {
            "pkg/db.py": "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n",
            "pkg/__init__.py": "from .db import *\n",
            "pkg/models/__init__.py": "from ..db import Base\n",
            "pkg/models/user.py": (
                "from pkg.models import Base\nclass User(Base):\n    __tablename__ = 'u'\n"
            ),
            "pkg/api.py": "from pkg import Base\nclass Item(Base):\n    pass\n",
        }
    )
    assert str(index.lookup("pkg.db.Base")) == "base-factory"
    assert str(index.lookup("pkg.Base")) == "base-factory"
    user = index.lookup("pkg.models.user.User")
    item = index.lookup("pkg.api.Item")
    assert getattr(user, "kind", None) is ClassKind.SQLA_MODEL
    assert getattr(item, "kind", None) is ClassKind.SQLA_MODEL
    assert index.lookup("pkg.db.Missing") is None
    assert index.lookup("sqlalchemy.orm.Session") is None


def test_an_import_cycle_does_not_hang_and_keeps_what_it_can() -> None:
    index = _project(
        {
            "a.py": (
                "from b import B\nfrom pydantic import BaseModel\nclass A(BaseModel):\n    x: int\n"
            ),
            "b.py": "from a import A\nclass B(A):\n    pass\n",
        }
    )
    b = index.lookup("b.B")
    assert getattr(b, "kind", None) in (ClassKind.PYDANTIC, ClassKind.OTHER)


def _resolve_in(source: str, name: str, where: str) -> str | None:
    """What `name` resolves to inside the function `where` (or at module level)."""
    module = cst.parse_module(textwrap.dedent(source))
    facts = collect(module)
    if where:
        from harness.code.names import function_scope

        fn = next(
            s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == where
        )
        facts.scopes.append(function_scope(fn, None))
    return facts.resolve(cst.Name(name))


def test_names_resolve_through_scopes_and_fragments() -> None:
    src = """
        from sqlalchemy.orm import Session as S

        def uses(db: S):
            return db

        def shadows(Session, Column):
            from app.db import Base
            return Session

        class Column:
            pass
    """
    assert _resolve_in(src, "S", "uses") == "sqlalchemy.orm.Session"
    assert _resolve_in(src, "Session", "") == "sqlalchemy.orm.Session"  # a fragment's name
    assert _resolve_in(src, "Session", "shadows") == "Session"  # a parameter: never a guess
    assert _resolve_in(src, "Base", "shadows") == "app.db.Base"  # a function-local import
    assert _resolve_in(src, "Column", "") == "Column"  # the module defines it
    assert _resolve_in(src, "mapped_column", "") == "sqlalchemy.orm.mapped_column"
    assert _resolve_in(src, "Unheard", "") == "Unheard"


def test_a_checker_failure_in_one_unit_leaves_the_project_checked() -> None:
    units = [
        CodeUnit.from_path("ok.py", "try:\n    pass\nexcept:\n    raise\n"),
        CodeUnit.from_path("deep.py", "x = " + "(" * 300 + "1" + ")" * 300 + "\n"),
        CodeUnit.from_path("bad.py", "def (:\n"),
    ]
    results = check_units(units, RuleSet.build())
    assert [r.status for r in results] == ["ok", "check-error", "parse-error"]
    assert "EXC002" in [f.code for f in results[0].findings]


def test_cross_file_resolution_stays_quiet_on_look_alikes() -> None:
    """Every path of the project view has a quiet twin: a dataclass named like a schema, a
    `Base` that is not a declarative base, a session-like name bound to something else."""
    files = {
        "app/schemas.py": (
            "from dataclasses import dataclass\n\n@dataclass\nclass TaskCreate:\n    title: str\n"
        ),
        "app/database.py": "Base = object\nSessionLocal = dict\n",
        "app/models.py": ("from app.database import Base\n\nclass Task(Base):\n    title = 'x'\n"),
        "app/crud.py": (
            "from app import schemas\nfrom app.database import SessionLocal\n\n"
            "def create(task: schemas.TaskCreate):\n"
            "    conn = SessionLocal()\n"
            "    conn.query(task)\n"
            "    return task.dict()\n"
        ),
    }
    units = [CodeUnit.from_path(p, s) for p, s in files.items()]
    results = check_units(units, RuleSet.build())
    assert [(r.unit.path, f.code) for r in results for f in r.findings] == []


def test_an_http_error_subclass_from_another_file_is_raised_in_a_service() -> None:
    files = {
        "app/errors.py": (
            "from fastapi import HTTPException\n\n"
            "class NotFound(HTTPException):\n    pass\n\n"
            "class OrderNotFound(NotFound):\n    pass\n\n"
            "class DomainError(Exception):\n    pass\n"
        ),
        "app/services/orders.py": (
            "from app.errors import DomainError, OrderNotFound\n\n"
            "def get(order_id):\n"
            "    if order_id is None:\n"
            "        raise DomainError(order_id)\n"
            "    raise OrderNotFound(status_code=404)\n"
        ),
        # No role from the path: the class name says it is a repository.
        "app/store.py": (
            "from app import errors\n\n"
            "class OrderRepository:\n"
            "    def get(self, order_id):\n"
            "        raise errors.NotFound(status_code=404)\n\n"
            "def helper():\n"
            "    raise errors.NotFound(status_code=404)\n"
        ),
    }
    units = [CodeUnit.from_path(p, s) for p, s in files.items()]
    results = check_units(units, RuleSet.build())
    found = [(r.unit.path, f.line) for r in results for f in r.findings if f.code == "SVC001"]
    assert found == [("app/services/orders.py", 6), ("app/store.py", 5)]


def test_a_response_model_named_in_another_file_is_a_read_model() -> None:
    files = {
        "app/schemas.py": (
            "from dataclasses import dataclass\n"
            "from pydantic import BaseModel\n\n"
            "class User(BaseModel):\n    id: int\n    name: str\n\n"
            "class Draft(BaseModel):\n    id: int\n\n"
            "@dataclass\nclass Row:\n    id: int\n"
        ),
        "app/models.py": (
            "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n"
            "class Base(DeclarativeBase):\n    pass\n\n"
            "class User(Base):\n    __tablename__ = 'users'\n"
            "    id: Mapped[str] = mapped_column(primary_key=True)\n"
        ),
        "app/routes.py": (
            "from fastapi import APIRouter\n"
            "from . import models, schemas\n\n"
            "router = APIRouter()\n\n"
            "@router.get('/users/{user_id}', response_model=schemas.User)\n"
            "def read(user_id: str, db):\n"
            "    user = db.get(models.User, user_id)\n"
            "    return user\n\n"
            "@router.post('/users')\n"
            "def create(db):\n"
            "    user = models.User()\n"
            "    draft = schemas.Draft.parse_obj({'id': 1})\n"
            "    row = schemas.Row.parse_obj({'id': 1})\n"
            "    return schemas.User.from_orm(user)\n"
        ),
    }
    units = [CodeUnit.from_path(p, s) for p, s in files.items()]
    results = check_units(units, RuleSet.build())
    found = {
        (r.unit.path, f.code, f.line)
        for r in results
        for f in r.findings
        if f.code in ("IDS001", "PYD003", "PYD004")
    }
    assert found == {
        ("app/schemas.py", "PYD004", 4),  # a route returns an ORM object as it
        ("app/schemas.py", "IDS001", 5),  # `id: int` of a model some route returns
        ("app/routes.py", "PYD003", 14),  # `schemas.Draft.parse_obj`
        ("app/routes.py", "PYD003", 16),  # `schemas.User.from_orm`
    }


def test_a_route_returning_a_service_methods_orm_value_builds_its_response_model() -> None:
    files = {
        "app/models.py": (
            "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n"
            "class Base(DeclarativeBase):\n    pass\n\n"
            "class User(Base):\n    __tablename__ = 'users'\n"
            "    id: Mapped[str] = mapped_column(primary_key=True)\n"
        ),
        "app/schemas.py": (
            "from pydantic import BaseModel\n\n"
            "class UserRead(BaseModel):\n    id: str\n\n"
            "class StatsRead(BaseModel):\n    count: int\n"
        ),
        "app/services.py": (
            "from app.models import User\n\n"
            "class BaseService:\n"
            "    async def one(self, session, user_id: str) -> User | None:\n"
            "        return await session.get(User, user_id)\n\n"
            "class UserService(BaseService):\n"
            "    async def stats(self) -> dict[str, int]:\n"
            "        return {'count': 1}\n"
        ),
        "app/routes.py": (
            "from typing import Annotated\n"
            "from fastapi import APIRouter, Depends\n"
            "from app.schemas import StatsRead, UserRead\n"
            "from app.services import UserService\n\n"
            "router = APIRouter()\n\n"
            "@router.get('/users/{user_id}', response_model=UserRead)\n"
            "async def read(user_id: str, service: Annotated[UserService, Depends()]):\n"
            "    return await service.one(None, user_id)\n\n"
            "@router.get('/stats', response_model=StatsRead)\n"
            "async def stats(service: UserService = Depends()):\n"
            "    return await service.stats()\n"
        ),
    }
    units = [CodeUnit.from_path(p, s) for p, s in files.items()]
    results = check_units(units, RuleSet.build())
    found = [(r.unit.path, f.line) for r in results for f in r.findings if f.code == "PYD004"]
    assert found == [("app/schemas.py", 3)]
