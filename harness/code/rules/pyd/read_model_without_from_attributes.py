from __future__ import annotations

import libcst as cst

from harness.code.evidence import orm_built_models
from harness.code.facts import ClassInfo
from harness.code.models import (
    external_bases,
    has_opaque_config,
    is_read_model,
    reads_orm_objects,
)
from harness.code.subjects import PydanticModelRule
from harness.registry import Invalid, Valid

#: Roots a read model may derive from for this rule to know its whole config. Others are
#: skipped: `SQLModel` turns `from_attributes` on by default, `RootModel`s and generic
#: containers (`Page[T]`) wrap other models and are built from dicts, and a base imported
#: from elsewhere may set the config itself.
PLAIN_MODEL_ROOTS = frozenset({"pydantic.BaseModel", "pydantic.main.BaseModel", "abc.ABC"})


class ReadModelWithoutFromAttributes(PydanticModelRule):
    """
    ## What it does
    Flags a read (response) model that does not set `from_attributes=True` in its own
    `model_config` or an inherited one. A read model is a Pydantic model whose name ends with
    one of `rules.read_model_suffixes` (`Read`, `Out`, `Response`, `Public`, `InDB`,
    `Detail`) or that is used as a FastAPI `response_model=` (in any file of the project),
    and whose name does not end with an input-model suffix (`rules.input_model_suffixes`:
    `Create`, `Update`, ...).

    A read model is only flagged on evidence, in any file of the project, that it is built
    from ORM objects:
    - `Model.from_orm(x)`, or `Model.model_validate(x)` with `x` an ORM value;
    - a route with `response_model=Model` (or `list[Model]`), or a function annotated to
      return it, that returns an ORM value.

    An ORM value is what the code shows to be an instance (or a list) of an ORM class: a call
    of the class, a session read (`db.get(User, id)`, `db.query(User).first()`,
    `session.scalars(...).all()`, `User.query.get(id)`), a call of a project function that is
    annotated to return an ORM class or returns such a value, a call of such a method on a
    parameter annotated with a project class (`service.get(id)` with
    `service: UserService`, its own method or a base's), or a local name bound to one of
    these or annotated with an ORM class. Sessions are known by their annotation or by the
    names `session`, `db`, `db_session`, `sess` (a guess from the name). A model built from
    dicts or keyword arguments (`UserRead(**data)`, `UserRead(id=u.id)`), and every read
    model of an app without ORM classes, is not flagged.

    The v1 `orm_mode = True` counts as set (Pydantic v2 maps it, with a warning; PYD002
    flags the key). Models deriving from `SQLModel` (on by default), `RootModel` or
    `Generic[T]` (containers such as `Page[UserRead]`, built from dicts), or a base known
    neither in the unit nor in the project (which may set it) are skipped.

    Fragments: in code that imports nothing ("the rest is unchanged"), `BaseModel`, `ConfigDict`
    and `Session` resolve to the library's names when neither the unit nor its project binds
    them; a name the code binds to something else never does.

    ## Why is this bad?
    Without `from_attributes`, `UserRead.model_validate(orm_user)` and FastAPI's response
    serialization of an ORM object fail with a validation error ("Input should be a valid
    dictionary or instance of UserRead"), usually only at runtime on the first request.

    ## Example
    ```python
    from pydantic import BaseModel, EmailStr
    from sqlalchemy.orm import Session

    class UserRead(BaseModel):
        id: int
        email: EmailStr

    def get_user(db: Session, user_id: int) -> UserRead:
        return db.get(User, user_id)
    ```

    ## Use instead
    ```python
    from pydantic import BaseModel, ConfigDict, EmailStr
    from sqlalchemy.orm import Session

    class UserRead(BaseModel):
        model_config = ConfigDict(from_attributes=True)

        id: int
        email: EmailStr

    def get_user(db: Session, user_id: int) -> UserRead:
        return db.get(User, user_id)
    ```
    """

    code = "PYD004"
    checks_sqlmodel_tables = False
    name = "read-model-without-from-attributes"
    message = "Read model lacks `from_attributes=True`; it cannot be validated from ORM objects"
    valid = (
        Valid("""
            from pydantic import BaseModel, ConfigDict

            class UserRead(BaseModel):
                model_config = ConfigDict(from_attributes=True)
                id: int

            def show(user: User) -> UserRead:
                return UserRead.model_validate(user)
            """),
        # Inherited from a local base, as a dict literal.
        Valid("""
            from pydantic import BaseModel as BM

            class ORMModel(BM):
                model_config = {'from_attributes': True}

            class UserOut(ORMModel):
                id: int

            def show(user):
                return UserOut.from_orm(user)
            """),
        # No evidence: an app without ORM, models built from dicts or keywords.
        Valid("""
            from fastapi import APIRouter
            from pydantic import BaseModel

            class WeatherResponse(BaseModel):
                city: str
                celsius: float

            router = APIRouter()

            @router.get('/weather', response_model=WeatherResponse)
            async def weather(city: str) -> WeatherResponse:
                data = await fetch(city)
                return WeatherResponse(**data)
            """),
        Valid("""
            from pydantic import BaseModel
            from sqlalchemy.orm import Session

            class UserRead(BaseModel):
                id: int

            def show(db: Session, user_id: int) -> UserRead:
                user = db.get(User, user_id)
                return UserRead(id=user.id)

            def parse(payload: dict) -> UserRead:
                return UserRead.model_validate(payload)
            """),
        # Plain classes / dataclasses with read-model names.
        Valid("""
            from dataclasses import dataclass

            @dataclass
            class UserRead:
                id: int

            def show(db, user_id) -> UserRead:
                return db.get(User, user_id)
            """),
        # SQLModel turns it on by default; a base from another module may set it.
        Valid("""
            from sqlmodel import SQLModel

            class HeroPublic(SQLModel):
                id: int

            def show(db, hero_id) -> HeroPublic:
                return db.get(Hero, hero_id)
            """),
        Valid("""
            from app.schemas.base import ORMBase

            class UserRead(ORMBase):
                id: int

            def show(db, user_id) -> UserRead:
                return db.get(User, user_id)
            """),
        # v1 `orm_mode` works (with a warning); PYD002 flags the key itself.
        Valid("""
            from pydantic import BaseModel

            class UserRead(BaseModel):
                id: int

                class Config:
                    orm_mode = True

            def show(user):
                return UserRead.from_orm(user)
            """),
        Valid('''
            from pydantic import BaseModel

            class UserRead(BaseModel, from_attributes=True):
                """Without from_attributes this would fail."""
                id: int

            def show(user):
                return UserRead.from_orm(user)
            '''),
    )
    invalid = (
        # A fragment that imports nothing: `BaseModel` and `Session` are the libraries'.
        Invalid(
            """
            class UserRead(BaseModel):
                id: int

            def get_user(conn: Session, user_id: int) -> UserRead:
                return conn.get(User, user_id)
            """,
            line=1,
        ),
        # Returned from a session read by a function annotated with the model.
        Invalid(
            """
            from pydantic import BaseModel
            from sqlalchemy.orm import Session

            class UserRead(BaseModel):
                id: int

            def show(db: Session, user_id: int) -> UserRead:
                return db.query(User).filter(User.id == user_id).first()
            """,
            line=4,
        ),
        # A base that sets other keys; validated from an ORM instance.
        Invalid(
            """
            from pydantic import BaseModel, ConfigDict
            from sqlalchemy.orm import DeclarativeBase

            class Base(DeclarativeBase):
                pass

            class User(Base):
                __tablename__ = 'users'

            class Shared(BaseModel):
                model_config = ConfigDict(str_strip_whitespace=True)

            class UserOut(Shared):
                id: int

            def show(user: User) -> dict:
                return UserOut.model_validate(user).model_dump()
            """,
            line=13,
        ),
        # A route returning what a session gives, as a list.
        Invalid(
            """
            from fastapi import APIRouter, Depends
            from pydantic import BaseModel
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            class ItemResponse(BaseModel):
                id: int

            router = APIRouter()

            @router.get('/items', response_model=list[ItemResponse])
            async def items(session: AsyncSession = Depends(get_session)):
                rows = await session.scalars(select(Item))
                return rows.all()
            """,
            line=6,
        ),
        # `from_orm` says so itself; a comprehension over query results.
        Invalid(
            """
            import pydantic

            class UserInDB(pydantic.BaseModel):
                model_config = pydantic.ConfigDict(from_attributes=False)
                id: int

            def dump(user):
                return UserInDB.from_orm(user)
            """,
            line=3,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class TaskRead(BaseModel):
                id: int

            def listing(db):
                tasks = db.query(Task).all()
                return [TaskRead.model_validate(t) for t in tasks]
            """,
            line=3,
        ),
    )

    def selects(self, node: cst.ClassDef, info: ClassInfo) -> bool:
        """Read models built from ORM objects."""
        return is_read_model(info, self.facts, self.settings) and id(node) in orm_built_models(
            self.facts
        )

    def check_model(self, node: cst.ClassDef, info: ClassInfo) -> None:
        if not external_bases(info, self.facts) <= PLAIN_MODEL_ROOTS:
            return
        if has_opaque_config(info, self.facts):
            return
        if reads_orm_objects(info, self.facts):
            return
        message = (
            f"Read model `{info.name}` lacks `from_attributes=True`; it is built from ORM objects"
        )
        self.report(node.name, message)
