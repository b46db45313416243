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
from harness.registry import Invalid, Valid

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

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel`, `Field` and
    `EmailStr` resolve to the library's names when neither the unit nor its project binds them;
    a name the code binds to something else never does.

    ## Why is this bad?
    A plain `str` accepts `"not-an-email"`, so bad addresses reach the database and the
    mailer. `EmailStr` (with the `email-validator` package) validates and normalises the
    address and documents the format in the OpenAPI schema.

    ## Example
    ```python
    from pydantic import BaseModel

    class UserCreate(BaseModel):
        email: str
        backup_email: str | None = None
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel, EmailStr

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
        Valid("""
            from pydantic import BaseModel, EmailStr

            class UserCreate(BaseModel):
                email: EmailStr
                backup_email: EmailStr | None = None
            """),
        # Validated another way.
        Valid("""
            from pydantic import BaseModel, Field, field_validator

            class User(BaseModel):
                email: str = Field(pattern=r'^[^@]+@[^@]+$')
                work_email: str

                @field_validator('work_email')
                @classmethod
                def check(cls, v: str) -> str:
                    return v
            """),
        # Not a Pydantic model, or not an email field.
        Valid("""
            from dataclasses import dataclass

            @dataclass
            class User:
                email: str

            class Contact:
                email: str
            """),
        Valid("""
            from pydantic import BaseModel

            class User(BaseModel):
                emails_sent: int
                email_verified: bool
                emailer: str
            """),
        Valid("""
            from sqlmodel import SQLModel, Field

            class User(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                email: str
            """),
        Valid('''
            from pydantic import BaseModel, EmailStr

            class User(BaseModel):
                """email: str is bad."""
                email: EmailStr
            '''),
    )
    invalid = (
        # A fragment that imports nothing: the well-known names mean the library's.
        Invalid(
            """
            class UserCreate(BaseModel):
                email: str = Field(max_length=255)
            """,
            line=2,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class UserCreate(BaseModel):
                email: str
            """,
            line=4,
        ),
        Invalid(
            """
            from typing import Optional
            from pydantic import BaseModel as BM

            class Base(BM):
                pass

            class Contact(Base):
                name: str
                contact_email: Optional[str] = None
            """,
            line=9,
        ),
        Invalid(
            """
            from typing import Annotated
            from pydantic import BaseModel, Field

            class User(BaseModel):
                email_address: Annotated[str, Field(max_length=254)] | None = None
            """,
            line=5,
        ),
        Invalid(
            """
            import pydantic

            class Invite(pydantic.BaseModel):
                inviter_email: str = pydantic.Field(..., max_length=254)
                email: str | None = None
            """,
            count=2,
        ),
        Invalid(
            """
            from sqlmodel import SQLModel

            class UserCreate(SQLModel):
                email: str
            """,
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
