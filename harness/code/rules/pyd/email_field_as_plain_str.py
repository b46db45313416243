from __future__ import annotations

import libcst as cst

from harness.code.facts import ClassInfo
from harness.code.matchers import is_str_annotation
from harness.code.models import (
    annotation_metadata,
    field_call,
    field_keyword,
    model_fields,
    validated_field_names,
)
from harness.code.subjects import PydanticModelRule
from harness.registry import Example

#: `Field(...)` keywords that validate the format of a string.
FORMAT_KEYWORDS = ("pattern", "regex")


def is_email_field_name(name: str) -> bool:
    """`email`, `email_address`, `contact_email`, `billing_email_address`."""
    return name in ("email", "email_address") or name.endswith(("_email", "_email_address"))


class EmailFieldAsPlainStr(PydanticModelRule):
    """
    ## What it does
    Flags a Pydantic model field named `email`, `email_address` or ending with `_email` /
    `_email_address` that is annotated `str` (also `str | None`, `Optional[str]`,
    `Annotated[str, Field(...)]`) instead of `EmailStr`.

    A field whose format is validated some other way is not flagged: `Field(pattern=...)`,
    `Annotated` metadata other than `Field` (such as `AfterValidator`), or a
    `@field_validator` naming the field. SQLModel table classes are skipped: they do not
    validate on construction.

    ## Why is this bad?
    A plain `str` accepts `"not-an-email"`, so bad addresses reach the database and the
    mailer. `EmailStr` (with the `email-validator` package) validates and normalises the
    address and documents the format in the OpenAPI schema.

    ## Example
    ```python
    class UserCreate(BaseModel):
        email: str
        backup_email: str | None = None
    ```

    ## Use instead
    ```python
    class UserCreate(BaseModel):
        email: EmailStr
        backup_email: EmailStr | None = None
    ```
    """

    code = "PYD005"
    checks_sqlmodel_tables = False
    name = "email-field-as-plain-str"
    message = "Email field is a plain `str`; annotate it `EmailStr` so addresses are validated"
    valid = (
        "from pydantic import BaseModel, EmailStr\n\nclass UserCreate(BaseModel):\n"
        "    email: EmailStr\n    backup_email: EmailStr | None = None\n",
        # Validated another way.
        "from pydantic import BaseModel, Field, field_validator\n\nclass User(BaseModel):\n"
        "    email: str = Field(pattern=r'^[^@]+@[^@]+$')\n    work_email: str\n\n"
        "    @field_validator('work_email')\n    @classmethod\n"
        "    def check(cls, v: str) -> str:\n        return v\n",
        # Not a Pydantic model, or not an email field.
        "from dataclasses import dataclass\n\n@dataclass\nclass User:\n    email: str\n\n"
        "class Contact:\n    email: str\n",
        "from pydantic import BaseModel\n\nclass User(BaseModel):\n    emails_sent: int\n"
        "    email_verified: bool\n    emailer: str\n",
        "from sqlmodel import SQLModel, Field\n\nclass User(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n    email: str\n",
        "from pydantic import BaseModel, EmailStr\n\nclass User(BaseModel):\n"
        '    """email: str is bad."""\n    email: EmailStr\n',
    )
    invalid = (
        Example(
            "from pydantic import BaseModel\n\nclass UserCreate(BaseModel):\n    email: str\n",
            line=4,
        ),
        Example(
            "from typing import Optional\nfrom pydantic import BaseModel as BM\n\n"
            "class Base(BM):\n    pass\n\nclass Contact(Base):\n"
            "    name: str\n    contact_email: Optional[str] = None\n",
            line=9,
        ),
        Example(
            "from typing import Annotated\nfrom pydantic import BaseModel, Field\n\n"
            "class User(BaseModel):\n"
            "    email_address: Annotated[str, Field(max_length=254)] | None = None\n",
            line=5,
        ),
        Example(
            "import pydantic\n\nclass Invite(pydantic.BaseModel):\n"
            "    inviter_email: str = pydantic.Field(..., max_length=254)\n"
            "    email: str | None = None\n",
            count=2,
        ),
        Example(
            "from sqlmodel import SQLModel\n\nclass UserCreate(SQLModel):\n    email: str\n",
            line=4,
        ),
    )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        validated: frozenset[str] | None = None
        for field in model_fields(node, self.facts):
            if not is_email_field_name(field.name):
                continue
            if not is_str_annotation(field.annotation, self.facts):
                continue
            if any(field_keyword(field, self.facts, kw) for kw in FORMAT_KEYWORDS):
                continue
            metadata = annotation_metadata(field.annotation, self.facts)
            if any(field_call(meta, self.facts) is None for meta in metadata):
                continue  # AfterValidator(...), StringConstraints(pattern=...), ...
            if validated is None:
                validated = validated_field_names(node, self.facts)
            if field.name in validated or "*" in validated:
                continue
            self.report(
                field.node,
                f"Email field `{field.name}` is a plain `str`;"
                " annotate it `EmailStr` so addresses are validated",
            )
