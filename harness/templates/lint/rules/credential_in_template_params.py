from __future__ import annotations

from harness.credentials import find_credentials
from harness.findings import Severity
from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule


class CredentialInTemplateParams(TemplateRule):
    """
    ## What it does
    Flags a credential in a template's `params`, at any depth: a key whose name is a
    credential (`api_key`, `Authorization`, `x-api-key`, `aws_secret_access_key`,
    `session_token`, ...) or a secret-shaped value (`Bearer ...`, `sk-...`). Matching is by
    name, so a parameter named like a credential is flagged even when it holds none.

    ## Why is this bad?
    Template params are sent with every request, so a key there overrides the one in the
    environment, is recorded in the response store and `run.json`, and is committed to git
    with the template. `harness evaluate` refuses to run such a template.

    ## Example
    ```yaml
    params:
      temperature: 0.2
      extra_headers: {Authorization: Bearer sk-live-123}
    ```

    ## Use instead
    ```yaml
    params:
      temperature: 0.2
    # and export OPENAI_API_KEY (or the provider's variable) in the environment
    ```
    """

    code = "TPL014"
    name = "credential-in-template-params"
    message = "Template params carry a credential; keys belong in the environment"
    severity = Severity.ERROR
    valid = (
        Valid("""
            id: t
            template: Write
            cases: [{name: a}]
            params: {temperature: 0.1, max_tokens: 100}
            """),
        Valid("""
            id: t
            template: Write
            cases: [{name: a}]
            params: {extra_body: {prompt_cache_key: users}}
            """),
        Valid("""
            id: t
            template: Write
            cases: [{name: a}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            template: Write
            cases: [{name: a}]
            params: {api_key: sk-test-1234567890}
            """,
            line=4,
        ),
        Invalid(
            """
            id: t
            template: Write
            cases: [{name: a}]
            params:
              extra_body:
                aws_secret_access_key: abc
            """,
            line=6,
        ),
        Invalid(
            """
            id: t
            template: Write
            cases: [{name: a}]
            params:
              default_headers: {Authorization: Bearer xyz}
            """,
            line=5,
        ),
    )

    def check(self) -> None:
        params = self.spec.params.model_dump(mode="json", exclude_none=True)
        for path in find_credentials(params):
            self.report(
                key=f"params.{path}", message=f"Template params carry a credential: `{path}`"
            )
