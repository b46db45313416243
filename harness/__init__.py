"""prompt-harness: lint, run, check and gate prompt templates that generate backend code."""

__version__ = "0.1.0"
