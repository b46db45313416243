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


def defects_for(ask: Ask, model: str, rng: random.Random) -> Defects:
    """Roll the model's habits, then add what an unasked-for instruction leaves at default."""
    rates = DEFECT_RATES.get(model, {})
    rolled = {name: rng.random() < rate for name, rate in sorted(rates.items())}
    d = Defects(**rolled)
    # Where the prompt is silent, every model takes the plain default.
    return replace(
        d,
        int_ids=d.int_ids or not ask.uuid_ids,
        no_from_attributes=d.no_from_attributes or not ask.from_attributes,
        plain_email=d.plain_email or not ask.email_str,
        unbounded_str=d.unbounded_str or not ask.max_length,
        required_update=d.required_update or not ask.optional_update,
    )
