"""Extraction of code units from model replies."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.code.engine import check_unit
from harness.code.extract import extract
from harness.code.unit import Role

FENCE = "```"


def test_single_python_block_inside_prose() -> None:
    reply = f"Sure! Here it is:\n\n{FENCE}python\nx = 1\ny = 2\n{FENCE}\n\nHope this helps."
    ex = extract(reply)
    assert ex.outcome == "code"
    assert len(ex.units) == 1
    unit = ex.units[0]
    assert unit.source == "x = 1\ny = 2\n"
    assert unit.first_line == 4
    assert unit.path == "generated.py"


def test_tilde_fence_and_longer_backtick_fence() -> None:
    ex = extract("~~~py\na = 1\n~~~\n")
    assert [u.source for u in ex.units] == ["a = 1\n"]
    # A ```` block is only closed by a fence at least as long: the inner ``` line is code.
    ex = extract('````python\ns = """\n```\n"""\n````\n')
    assert ex.outcome == "code"
    assert ex.units[0].source == 's = """\n```\n"""\n'
    # A tilde fence is not closed by backticks.
    ex = extract("~~~\nx = 1\n```\n~~~\n")
    assert ex.units[0].source == "x = 1\n```\n"


def test_language_tags() -> None:
    for tag in ("python", "py", "python3", "Python", ""):
        ex = extract(f"{FENCE}{tag}\nvalue = 3\n{FENCE}")
        assert ex.outcome == "code", tag
    for tag in ("bash", "json", "sql", "toml", "text", "shell", "yaml"):
        ex = extract(f"{FENCE}{tag}\nvalue = 3\n{FENCE}")
        assert ex.outcome == "no-code", tag
        assert ex.units == ()
        assert tag in ex.detail


def test_other_language_blocks_are_skipped_beside_python() -> None:
    reply = (
        "Install:\n```bash\npip install fastapi\n```\n"
        "Code:\n```python\nimport fastapi\n```\n"
        "Config:\n```toml\n[tool.x]\n```\n"
    )
    ex = extract(reply)
    assert ex.outcome == "code"
    assert [u.source for u in ex.units] == ["import fastapi\n"]
    assert ex.units[0].first_line == 7


def test_untagged_block_that_is_not_python_is_skipped_when_python_is_tagged() -> None:
    reply = "```python\nx = 1\n```\nRun it:\n```\n$ uvicorn app.main:app --reload\n```\n"
    ex = extract(reply)
    assert [u.source for u in ex.units] == ["x = 1\n"]
    assert "1 skipped" in ex.detail
    # With no tagged block, an untagged block is kept even when broken: the engine says why.
    ex = extract("```\ndef f(:\n```\n")
    assert ex.outcome == "code"
    assert ex.units[0].source == "def f(:\n"


def test_several_blocks_named_by_headers_get_roles() -> None:
    reply = "\n".join(
        [
            "Here are the files.",
            "",
            "**app/models/user.py**",
            "```python",
            "class User: ...",
            "```",
            "",
            "```python",
            "# file: app/services/user_service.py",
            "def get(): ...",
            "```",
            "app/schemas/user.py:",
            "```python",
            "X = 1",
            "```",
            "```python",
            "# File: app/api/users.py",
            "Y = 2",
            "```",
            "```python",
            "# app/repositories/users.py",
            "Z = 3",
            "```",
            "```python",
            "helper = 1",
            "```",
        ]
    )
    ex = extract(reply, role=Role.SERVICE)
    assert ex.outcome == "code"
    got = [(u.path, u.role, u.first_line) for u in ex.units]
    assert got == [
        ("app/models/user.py", Role.MODEL, 5),
        ("app/services/user_service.py", Role.SERVICE, 9),
        ("app/schemas/user.py", Role.SCHEMA, 14),
        ("app/api/users.py", Role.ROUTER, 17),
        ("app/repositories/users.py", Role.REPOSITORY, 21),
        ("generated.py", Role.SERVICE, 25),  # no name: the caller's role
    ]


def test_unnamed_blocks_get_distinct_default_paths() -> None:
    ex = extract("```python\na = 1\n```\n```python\nb = 2\n```\n", default_path="out/gen.py")
    assert [u.path for u in ex.units] == ["out/gen.py", "out/gen_2.py"]


def test_path_without_role_falls_back_to_given_role() -> None:
    ex = extract("`app/utils.py`:\n```python\nx = 1\n```\n", role=Role.SCHEMA)
    assert ex.units[0].path == "app/utils.py"
    assert ex.units[0].role is Role.SCHEMA


def test_path_in_info_string() -> None:
    ex = extract("```python app/services/billing.py\nx = 1\n```\n")
    assert ex.units[0].path == "app/services/billing.py"
    assert ex.units[0].role is Role.SERVICE


def test_indented_fence_in_list_item_is_dedented() -> None:
    reply = "1. Add the model:\n\n   ```python\n   class A:\n       x = 1\n   ```\n"
    ex = extract(reply)
    assert ex.units[0].source == "class A:\n    x = 1\n"
    assert ex.units[0].first_line == 4


def test_prose_only_is_no_code() -> None:
    for reply in (
        "I'm sorry, I can't help with that request.",
        "Done",
        "Sure",
        "Here is an explanation of how dependency injection works in FastAPI.\n\nIt uses Depends.",
    ):
        ex = extract(reply)
        assert ex.outcome == "no-code", reply
        assert ex.units == ()


def test_empty_reply_is_no_code() -> None:
    for reply in ("", "   \n\t\n", None):
        assert extract(reply).outcome == "no-code"  # type: ignore[arg-type]


def test_bare_code_without_fences() -> None:
    ex = extract("from fastapi import APIRouter\n\nrouter = APIRouter()\n", role=Role.ROUTER)
    assert ex.outcome == "code"
    assert ex.units[0].source == "from fastapi import APIRouter\n\nrouter = APIRouter()\n"
    assert ex.units[0].role is Role.ROUTER
    assert ex.units[0].first_line == 1


def test_bare_code_that_does_not_parse_is_still_code() -> None:
    ex = extract("import os\n\ndef f(:\n    pass\n")
    assert ex.outcome == "code"
    assert check_unit(ex.units[0]).status == "parse-error"


def test_unclosed_fence_is_truncated_and_keeps_the_partial_code() -> None:
    reply = "Here:\n```python\nclass User(BaseModel):\n    name: str\n    email: "
    ex = extract(reply)
    assert ex.outcome == "truncated"
    assert ex.units[0].source == "class User(BaseModel):\n    name: str\n    email: \n"
    assert "line 2" in ex.detail


def test_finish_reason_length_is_truncated() -> None:
    ex = extract("```python\nx = 1\n```\n", finish_reason="length")
    assert ex.outcome == "truncated"
    assert len(ex.units) == 1
    assert "cut off" in ex.detail
    assert extract("```python\nx = 1\n```\n", finish_reason="stop").outcome == "code"
    assert extract("Let me think about", finish_reason="length").outcome == "truncated"


def test_crlf_line_endings() -> None:
    reply = "Text\r\n```python\r\nx = 1\r\ny = 2\r\n```\r\n"
    ex = extract(reply)
    assert ex.outcome == "code"
    assert ex.units[0].source == "x = 1\ny = 2\n"
    assert ex.units[0].first_line == 3


def test_unit_lines_map_back_to_the_reply() -> None:
    reply = "intro\n\n```python\ntry:\n    f()\nexcept:\n    raise\n```\n"
    ex = extract(reply)
    unit = ex.units[0]
    finding = next(f for f in check_unit(unit).findings if f.code == "EXC002")
    reply_line = unit.first_line + finding.line - 1
    assert reply.splitlines()[reply_line - 1] == "except:"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.lists(
            st.sampled_from(
                [
                    "```",
                    "```python",
                    "~~~",
                    "````py",
                    "# file: app/services/x.py",
                    "**app/models.py**",
                    "def f(:",
                    "class A(BaseModel):",
                    "    x: int = 1",
                    "try:",
                    "except:",
                    "    pass",
                    "\r",
                    "\t",
                    "'''",
                    "\x00",
                    "",
                ]
            )
        ).map("\n".join),
    ),
    st.sampled_from([None, "stop", "length"]),
)
def test_arbitrary_text_never_raises(reply: str, finish_reason: str | None) -> None:
    ex = extract(reply, finish_reason=finish_reason)
    assert ex.outcome in ("code", "no-code", "truncated")
    for unit in ex.units:
        result = check_unit(unit)
        assert result.status in ("ok", "parse-error")


def test_an_indented_method_fragment_is_checked_as_methods_of_a_class() -> None:
    reply = (
        "Replace the method:\n\n```python\n"
        "    async def get_user(self, user_id: UUID) -> User:\n"
        "        try:\n"
        "            return await self.session.get(User, user_id)\n"
        "        except Exception:\n"
        "            return None\n"
        "```\n"
    )
    ex = extract(reply, role=Role.SERVICE)
    assert ex.outcome == "code"
    (unit,) = ex.units
    assert unit.source.splitlines()[1] == "    async def get_user(self, user_id: UUID) -> User:"
    assert unit.first_line == 3  # the added class line sits on the fence line
    result = check_unit(unit)
    assert result.status == "ok"
    (finding,) = result.findings  # EXC001; `self` needs no annotation in a method
    assert finding.code == "EXC001"
    lines = reply.splitlines()
    assert lines[finding.line + unit.first_line - 2].strip() == "except Exception:"
    assert finding.col == 9  # the reply's own column


def test_an_indented_block_of_statements_is_dedented() -> None:
    reply = "```python\n    rows = session.query(User).all()\n    total = len(rows)\n```\n"
    ex = extract(reply)
    (unit,) = ex.units
    assert unit.source == "rows = session.query(User).all()\ntotal = len(rows)\n"
    assert unit.first_line == 2
    assert [f.code for f in check_unit(unit).findings] == ["SQA006"]
