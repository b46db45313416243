"""The habits of each simulated model: which defects show in one reply."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from harness.llm.sim.prompt import Ask

# Probability of each defect when the model writes code, by model. A defect only shows
# where the code it belongs to is written (e.g. `query_api` only in services and routers).
DEFECT_RATES: dict[str, dict[str, float]] = {
    "careful": {},
    "sloppy": {
        "int_ids": 0.45,
        "v1_config": 0.35,
        "no_from_attributes": 0.35,
        "v1_api": 0.25,
        "plain_email": 0.35,
        "unbounded_str": 0.35,
        "required_update": 0.3,
        "server_field_in_create": 0.25,
        "any_field": 0.2,
        "query_api": 0.35,
        "swallow": 0.35,
        "http_in_service": 0.35,
        "column_api": 0.35,
        "legacy_base": 0.3,
        "no_tablename": 0.1,
        "backref": 0.3,
        "unindexed_fk": 0.35,
        "utcnow": 0.3,
        "sql_fstring": 0.15,
        "no_annotations": 0.3,
    },
    "chatty": {
        "int_ids": 0.5,
        "v1_config": 0.4,
        "no_from_attributes": 0.45,
        "v1_api": 0.3,
        "plain_email": 0.45,
        "unbounded_str": 0.5,
        "required_update": 0.45,
        "server_field_in_create": 0.3,
        "query_api": 0.45,
        "swallow": 0.45,
        "http_in_service": 0.45,
        "column_api": 0.4,
        "legacy_base": 0.4,
        "unindexed_fk": 0.45,
        "utcnow": 0.4,
        "no_annotations": 0.45,
    },
}


@dataclass(frozen=True, slots=True)
class Defects:
    """Which habits show in one reply."""

    int_ids: bool = False
    v1_config: bool = False
    no_from_attributes: bool = False
    v1_api: bool = False
    plain_email: bool = False
    unbounded_str: bool = False
    required_update: bool = False
    server_field_in_create: bool = False
    any_field: bool = False
    query_api: bool = False
    swallow: bool = False
    http_in_service: bool = False
    column_api: bool = False
    legacy_base: bool = False
    no_tablename: bool = False
    backref: bool = False
    unindexed_fk: bool = False
    utcnow: bool = False
    sql_fstring: bool = False
    no_annotations: bool = False


#: The rule each habit breaks: a model told to follow the rule (the template links an
#: instruction to it, and the prompt holds it) leaves the habit out, unless it rolls it anyway.
RULE_OF: dict[str, str] = {
    "int_ids": "IDS001",
    "v1_config": "PYD001",
    "no_from_attributes": "PYD004",
    "v1_api": "PYD003",
    "plain_email": "PYD005",
    "unbounded_str": "PYD006",
    "required_update": "PYD008",
    "server_field_in_create": "PYD009",
    "any_field": "PYD010",
    "query_api": "SQA006",
    "swallow": "EXC001",
    "http_in_service": "SVC001",
    "column_api": "SQA001",
    "legacy_base": "SQA007",
    "no_tablename": "SQA003",
    "backref": "SQA004",
    "unindexed_fk": "SQA005",
    "utcnow": "SQA008",
    "sql_fstring": "SQL001",
    "no_annotations": "TYP001",
}
#: What every model writes where nothing tells it otherwise: the common default of
#: generated code. Careful code never shows the others unless told to.
DEFAULTS = frozenset(
    {
        "int_ids",
        "no_from_attributes",
        "plain_email",
        "unbounded_str",
        "required_update",
        "server_field_in_create",
        "query_api",
        "swallow",
        "http_in_service",
        "column_api",
        "utcnow",
        "backref",
        "no_annotations",
    }
)


def defects_for(ask: Ask, model: str, rng: random.Random) -> Defects:
    """Roll the model's habits, then add the defaults of every rule it was not told about."""
    rates = DEFECT_RATES.get(model, {})
    rolled = {name: rng.random() < rate for name, rate in sorted(rates.items())}
    unasked = {name: True for name in DEFAULTS if RULE_OF[name] not in ask.obeyed}
    return replace(Defects(**rolled), **unasked)
