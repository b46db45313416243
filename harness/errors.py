"""One small error hierarchy. Each error carries what it needs to print well."""

from __future__ import annotations


class HarnessError(Exception):
    """Base error. `exit_code` is what the CLI exits with when it escapes a command."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.col = col
        self.hint = hint
        # Further errors found in the same pass (each printed on its own line).
        self.more: tuple[HarnessError, ...] = ()

    def all(self) -> tuple[HarnessError, ...]:
        """This error and the others found with it, in file order."""
        return (self, *self.more)

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.path else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        for other in self.more:
            text += f"\n{other}"
        return text


class ConfigError(HarnessError):
    """harness.yaml / [tool.harness] is missing something or malformed."""


class TemplateError(HarnessError):
    """A template file cannot be loaded or rendered."""


class RenderError(TemplateError):
    """A template failed to render (unknown variable, sandbox violation, ...)."""


class ProviderError(HarnessError):
    """A model provider failed in a way that prevents a result."""

    exit_code = 3


class StoreError(HarnessError):
    """The response store cannot be opened or read."""


class ToolError(HarnessError):
    """An external tool (ruff) is missing or failed."""
