"""Multi-file replies as models write them: the units found and the outcome of each."""

from __future__ import annotations

import pytest

from harness.code.engine import check_unit
from harness.code.extract import extract

F = "```"

LABELLED = f"""I'll structure the project like this:

{F}
app/
├── main.py
├── models.py
└── database.py
{F}

**app/database.py**
{F}python
from sqlalchemy.orm import declarative_base
Base = declarative_base()
{F}

**app/models.py**
{F}python
from sqlalchemy import Column, Integer
from app.database import Base

class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
{F}

**app/__init__.py**
{F}python
# empty file
{F}

**requirements.txt**
{F}
fastapi
sqlalchemy
{F}

`.gitignore`:
{F}
__pycache__/
.env
{F}

Run it with:
{F}
uvicorn app.main:app --reload
{F}
"""

INFO_STRINGS = f"""{F}python title="app/main.py"
from fastapi import FastAPI
app = FastAPI()
{F}
{F}requirements.txt
fastapi==0.110
{F}
{F}toml pyproject.toml
[project]
name = "x"
{F}
{F}py:app/deps.py
def get_db():
    yield None
{F}
"""

README = f"""**README.md**
{F}markdown
# Tasks API

Install:

{F}bash
pip install -r requirements.txt
{F}

Example:

{F}python
import requests
requests.get("http://localhost:8000/tasks")
{F}

That's it.
{F}

**app/main.py**
{F}python
from fastapi import FastAPI
app = FastAPI()
{F}
"""

UNTAGGED = f"""Files:

### `app/schemas.py`

{F}
from pydantic import BaseModel

class Task(BaseModel):
    title: str
{F}

### Shell

{F}
$ pip install pydantic
{F}

{F}
├── app
│   └── schemas.py
{F}
"""

HEADERS = f"""{F}python
# app/models.py
class A:
    pass
{F}
{F}python
# file: app/services/tasks.py
def run():
    return 1
{F}
"""

PLACEHOLDERS_ONLY = f"""{F}python
# app/__init__.py
# (empty)
{F}
"""

CASES = [
    # (reply, finish_reason, outcome, unit paths)
    (LABELLED, "stop", "code", ["app/database.py", "app/models.py"]),
    (INFO_STRINGS, "stop", "code", ["app/main.py", "app/deps.py"]),
    (README, "stop", "code", ["app/main.py"]),
    (UNTAGGED, "stop", "code", ["app/schemas.py"]),
    (HEADERS, None, "code", ["app/models.py", "app/services/tasks.py"]),
    (PLACEHOLDERS_ONLY, "stop", "no-code", []),
    # The model stopped on its own and forgot the closing fence: the code stands.
    (f"**app/x.py**\n{F}python\nx = 1\n", "stop", "code", ["app/x.py"]),
    # Cut off by the length limit inside a block.
    (
        f"{F}python\nx = 1\n{F}\n{F}python\ndef f(:\n",
        "length",
        "truncated",
        ["generated.py", "generated_2.py"],
    ),
    # Nothing says why it ended and the open block does not parse: it was cut.
    (f"{F}python\nclass A:\n    x: \n", None, "truncated", ["generated.py"]),
    # The model stopped, the open block does not parse: a parse error, not a cut.
    (f"{F}python\nclass A:\n    x: \n", "stop", "code", ["generated.py"]),
    # Cut off in prose after complete code: still a cut-off reply.
    (f"{F}python\nx = 1\n{F}\nNow the tests, which", "length", "truncated", ["generated.py"]),
]


@pytest.mark.parametrize(("reply", "finish", "outcome", "paths"), CASES)
def test_replies(reply: str, finish: str | None, outcome: str, paths: list[str]) -> None:
    ex = extract(reply, finish_reason=finish)
    assert ex.outcome == outcome, ex.detail
    assert [u.path for u in ex.units] == paths


def test_only_python_units_count_and_they_parse() -> None:
    for reply, finish, _, _ in CASES[:5]:
        ex = extract(reply, finish_reason=finish)
        assert all(check_unit(u).status == "ok" for u in ex.units), reply


def test_nested_readme_fences_do_not_leak_into_units() -> None:
    ex = extract(README)
    assert len(ex.units) == 1
    assert "requests.get" not in ex.units[0].source
    assert ex.units[0].first_line == README.splitlines().index("**app/main.py**") + 3


def test_an_unclosed_block_that_stopped_is_a_parse_error_not_a_cut() -> None:
    ex = extract(f"{F}python\nclass A:\n    x: \n", finish_reason="stop")
    assert "never closed" in ex.detail
    assert check_unit(ex.units[0]).status == "parse-error"


def test_placeholders_are_named_in_the_detail() -> None:
    ex = extract(PLACEHOLDERS_ONLY)
    assert "placeholder" in ex.detail
