"""Credentials are refused at any depth of config and template params, and never recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.config import HarnessConfig, ModelConfig, load_config
from harness.errors import ConfigError
from harness.runmeta import config_snapshot
from tests.test_evaluate import make_project

PLANTED = "sk-live-PLANTED-0123456789"


@pytest.mark.parametrize(
    "model",
    [
        f"{{alias: a, model: openai/x, params: {{extra_body: {{api_key: {PLANTED}}}}}}}",
        "{alias: a, model: bedrock/x, params: {aws_secret_access_key: abc123}}",
        "{alias: a, model: bedrock/x, params: {aws_session_token: abc123}}",
        "{alias: a, model: openai/x, params: {default_headers: {Authorization: Bearer "
        + PLANTED
        + "}}}",
        "{alias: a, model: openai/x, params: {extra_headers: {x-api-key: abc}}}",
        f"{{alias: a, model: openai/x, params: {{metadata: [{PLANTED}]}}}}",
        "{alias: a, model: azure/x, api_base: 'https://h.example/v1?api-key=abc123'}",
        "{alias: a, model: openai/x, api_base: 'https://user:pw@h.example/v1'}",
    ],
)
def test_config_refuses_a_credential_anywhere(
    tmp_path: Path, model: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "harness.yaml").write_text(f"models:\n  - {model}\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "harness.yaml")
    assert "credential" in str(err.value) and str(tmp_path / "harness.yaml") in str(err.value)
    assert PLANTED not in str(err.value)
    monkeypatch.chdir(tmp_path)
    assert main(["lint"]) == 2


def test_ordinary_params_and_api_bases_are_accepted() -> None:
    ModelConfig(
        alias="a",
        model="azure/x",
        api_base="https://h.example/openai?api-version=2024-06-01",
        params={"max_tokens": 10, "extra_body": {"prompt_cache_key": "users", "top_k": 3}},
    )


def test_run_json_records_api_base_without_query_or_user_info() -> None:
    model = ModelConfig(
        alias="a", model="azure/x", api_base="https://h.example:8443/o?api-version=2"
    )
    snap = config_snapshot(HarnessConfig(models=(model,)), (model,))
    assert snap["models"][0]["api_base"] == "https://h.example:8443/o"


TEMPLATE_WITH_KEY = f"""id: leaky
template: |
  Write a function.
params:
  temperature: 0.2
  extra_body:
    api_key: {PLANTED}
cases: [{{name: a}}]
"""


def test_a_template_cannot_carry_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(tmp_path)
    (tmp_path / "prompt_templates" / "leaky.yaml").write_text(TEMPLATE_WITH_KEY)
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "prompt_templates/leaky.yaml"]) == 1
    out = capsys.readouterr().out
    assert "prompt_templates/leaky.yaml:7:5: TPL014" in out
    assert main(["evaluate", "--templates", "leaky", "--models", "sim/careful"]) == 2
    err = capsys.readouterr().err
    assert "leaky.yaml:7:5: template params carry a credential" in err
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".yaml":
            assert PLANTED.encode() not in path.read_bytes(), path
