"""CodeUnit and Role: what the extractor hands to the engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath


class Role(StrEnum):
    """What a unit of code is for. Some rules only apply to some roles."""

    SERVICE = "service"
    REPOSITORY = "repository"
    ROUTER = "router"
    MODEL = "model"
    SCHEMA = "schema"
    OTHER = "other"


_ROLE_WORDS: dict[str, Role] = {
    "service": Role.SERVICE,
    "services": Role.SERVICE,
    "usecase": Role.SERVICE,
    "usecases": Role.SERVICE,
    "repository": Role.REPOSITORY,
    "repositories": Role.REPOSITORY,
    "repo": Role.REPOSITORY,
    "repos": Role.REPOSITORY,
    "crud": Role.REPOSITORY,
    "dal": Role.REPOSITORY,
    "router": Role.ROUTER,
    "routers": Role.ROUTER,
    "routes": Role.ROUTER,
    "endpoints": Role.ROUTER,
    "api": Role.ROUTER,
    "views": Role.ROUTER,
    "model": Role.MODEL,
    "models": Role.MODEL,
    "orm": Role.MODEL,
    "entities": Role.MODEL,
    "tables": Role.MODEL,
    "schema": Role.SCHEMA,
    "schemas": Role.SCHEMA,
    "dto": Role.SCHEMA,
    "dtos": Role.SCHEMA,
}


def role_from_path(path: str | None) -> Role:
    """Infer a role from a path: the file name first (`user_service.py`), then its folders."""
    if not path:
        return Role.OTHER
    p = PurePosixPath(path.replace("\\", "/"))
    for word in reversed(p.stem.lower().split("_")):
        if word in _ROLE_WORDS:
            return _ROLE_WORDS[word]
    for part in reversed(p.parts[:-1]):
        role = _ROLE_WORDS.get(part.lower())
        if role is not None:
            return role
    return Role.OTHER


@dataclass(frozen=True, slots=True)
class CodeUnit:
    """One piece of Python source to check.

    `path` is the file name the model gave (`# file: app/models.py`) or the file on disk.
    `first_line` is where the unit starts in the reply it came from (1 for files).
    """

    source: str
    path: str = "<unit>"
    role: Role = Role.OTHER
    first_line: int = 1
    language: str = "python"

    @classmethod
    def from_path(cls, path: str, source: str, role: Role | None = None) -> CodeUnit:
        return cls(source=source, path=path, role=role or role_from_path(path))
