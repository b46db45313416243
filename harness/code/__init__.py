"""Generated-code checks: extract, parse once, run every rule in one pass, fold in ruff."""
