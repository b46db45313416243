"""Whatever a template file contains, loading it raises TemplateError or nothing else."""

from __future__ import annotations

import contextlib

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import TemplateError
from harness.templates.loader import parse_template
from harness.templates.prompty import parse_prompty

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "id",
        "template",
        "system",
        "cases",
        "variables",
        "params",
        "expect",
        "min_score",
        "tags",
        "samples",
        "version",
        "description",
        "other",
    ]
)
TEMPLATE_LIKE = st.dictionaries(KEYS, VALUES, max_size=8)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _load(text: str) -> None:
    try:
        parse_template(text, "fuzz.yaml")
    except TemplateError as exc:
        assert exc.path == "fuzz.yaml"
        assert exc.line is None or exc.line >= 1


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _load(text)


@SETTINGS
@given(st.text(alphabet="{}[]:-,#&*!|>'\"\n ?%@`abc1\t", max_size=200))
def test_yaml_punctuation_soup(text: str) -> None:
    _load(text)


@SETTINGS
@given(VALUES)
def test_generated_yaml_structures(data: object) -> None:
    _load(yaml.safe_dump(data))


@SETTINGS
@given(TEMPLATE_LIKE)
def test_template_shaped_documents(data: dict) -> None:
    _load(yaml.safe_dump(data))


@SETTINGS
@given(st.text(max_size=200), st.text(max_size=200))
def test_prompty_front_matter_and_body(front: str, body: str) -> None:
    with contextlib.suppress(TemplateError):
        parse_prompty(f"---\n{front}\n---\n{body}", "fuzz.prompty")


def test_deep_nesting_and_aliases() -> None:
    for text in ("[" * 5000, "a: &a [*a]\n", "a: &x {b: *x}\nid: t\n"):
        _load(text)
