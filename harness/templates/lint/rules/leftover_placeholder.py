from __future__ import annotations

import re

from harness.registry import Invalid, Valid
from harness.templates.lint.base import TemplateRule
from harness.templates.lint.text import mask_code

#: Placeholder shapes left in prose: `[entity]`, `{entity}`, `<ENTITY>`, `TODO`, `{{`.
PLACEHOLDERS = (
    re.compile(r"(?<![\w$\]])\[[A-Za-z_][A-Za-z0-9_ -]{0,40}\](?![(\[:])"),
    re.compile(r"(?<![\w$}])\{[A-Za-z_][A-Za-z0-9_]*\}(?!\})"),
    re.compile(r"<[A-Z][A-Z0-9_]*>"),
    re.compile(r"\b(?:TODO|TBD|FIXME)\b"),
    re.compile(r"\{\{|\}\}|\{%|%\}"),
)


class LeftoverPlaceholder(TemplateRule):
    """
    ## What it does
    Renders every case and flags placeholder text left in the prompt: `[entity]`,
    `{entity}`, `<ENTITY>`, `TODO`, or Jinja braces such as `{{`. Text inside code fences and
    inline code is not checked.

    ## Why is this bad?
    The model sees the placeholder instead of the value and has to guess. Usually a variable
    was written in the wrong syntax, or a value copied into a case still contains a template.

    ## Example
    ```yaml
    template: |
      Write a Pydantic model for [entity].
    ```

    ## Use instead
    ```yaml
    template: |
      Write a Pydantic model for {{ entity }}.
    ```
    """

    code = "TPL006"
    name = "leftover-placeholder"
    message = "Rendered prompt still contains a placeholder"
    valid = (
        Valid("""
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases: [{name: a, vars: {entity: User}}]
            """),
        Valid("""
            id: t
            template: |
              Use `list[str]` and the path `/users/{user_id}`.
              ```python
              f'{name}'
              ```
            cases: [{name: a}]
            """),
        Valid("""
            id: t
            template: |
              Return a dict[str, int] and see [the docs](https://x.org).
            cases: [{name: a}]
            """),
    )
    invalid = (
        Invalid(
            """
            id: t
            template: |
              Intro
              Write a model for [entity].
            cases: [{name: a}]
            """,
            line=4,
        ),
        Invalid(
            """
            id: t
            template: |
              Write a model for {entity}.
            cases: [{name: a}]
            """,
            line=3,
        ),
        Invalid(
            """
            id: t
            variables: {entity: {}}
            template: 'Write {{ entity }}'
            cases:
              - name: a
                vars: {entity: User}
              - name: b
                vars: {entity: TODO}
            """,
            line=7,
        ),
        Invalid(
            """
            id: t
            template: |
              Fields: <FIELDS>
            cases: [{name: a}]
            """,
            line=3,
        ),
    )

    def check(self) -> None:
        reported: set[tuple[int, str]] = set()
        for result in self.ctx.rendered:
            assert result.prompt is not None
            text = mask_code(result.prompt.text)
            for pattern in PLACEHOLDERS:
                for match in pattern.finditer(text):
                    token = match.group(0)
                    line, col = self._locate(token, result.index)
                    if (line, token) in reported:
                        continue
                    reported.add((line, token))
                    self.report(
                        line=line,
                        col=col,
                        message=(
                            f"Rendered prompt of case `{result.case.name}` still contains "
                            f"placeholder `{token}`"
                        ),
                    )

    def _locate(self, token: str, case_index: int) -> tuple[int, int]:
        """The template line holding the placeholder, or the case that supplied it."""
        for field in self.ctx.fields:
            masked = mask_code(field.source)
            for i, line in enumerate(masked.splitlines(), start=1):
                # Jinja markup in the source is not a leftover; only literal text is.
                if token in {"{{", "}}", "{%", "%}"}:
                    continue
                pos = line.find(token)
                if pos >= 0:
                    return field.file_line(i), field.first_col + pos
        return self.spec.line_of(f"cases.{case_index}")
