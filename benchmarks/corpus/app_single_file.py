"""A whole FastAPI app in one file, the way a model answers "build me a todo API" (mixed)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, ForeignKey, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

logger = logging.getLogger("todo")

DATABASE_URL = "sqlite+aiosqlite:///./todo.db"
engine = create_async_engine(DATABASE_URL, echo=False)
SessionFactory = async_sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- models -------------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class TodoList(Base):
    __tablename__ = "todo_lists"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    items: Mapped[list[TodoItem]] = relationship(
        back_populates="todo_list", cascade="all, delete-orphan", order_by="TodoItem.position"
    )


class TodoItem(Base):
    __tablename__ = "todo_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    text: Mapped[str] = mapped_column(Text)
    done: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[Priority] = mapped_column(String(10), default=Priority.NORMAL)
    position: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("todo_lists.id"))

    todo_list: Mapped[TodoList] = relationship(back_populates="items")


# --- schemas ------------------------------------------------------------------------------


class TodoListCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class TodoListUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)


class TodoItemCreate(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    priority: Priority = Priority.NORMAL
    due_at: datetime | None = None


class TodoItemUpdate(BaseModel):
    text: str | None = Field(default=None, max_length=2000)
    done: bool | None = None
    priority: Priority | None = None
    position: int | None = Field(default=None, ge=0)
    due_at: datetime | None = None


class TodoItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    text: str
    done: bool
    priority: Priority
    position: int
    due_at: datetime | None
    created_at: datetime


class TodoListRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    created_at: datetime
    items: list[TodoItemRead] = []


class Stats(BaseModel):
    lists: int
    items: int
    done: int

    @property
    def ratio(self) -> float:
        return self.done / self.items if self.items else 0.0


# --- app ----------------------------------------------------------------------------------


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(title="Todo API", version="1.0.0", lifespan=lifespan)


class NotFound(Exception):
    def __init__(self, what: str, id_: uuid.UUID) -> None:
        super().__init__(f"{what} {id_} not found")


@app.exception_handler(NotFound)
async def not_found_handler(request: Request, exc: NotFound) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionFactory() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def load_list(session: AsyncSession, list_id: uuid.UUID) -> TodoList:
    todo_list = await session.get(TodoList, list_id)
    if todo_list is None:
        raise NotFound("list", list_id)
    return todo_list


@app.get("/lists", response_model=list[TodoListRead])
async def list_lists(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TodoList]:
    rows = await session.scalars(
        select(TodoList).order_by(TodoList.created_at.desc()).offset(offset).limit(limit)
    )
    return list(rows)


@app.post("/lists", response_model=TodoListRead, status_code=status.HTTP_201_CREATED)
async def create_list(data: TodoListCreate, session: SessionDep) -> TodoList:
    todo_list = TodoList(title=data.title)
    session.add(todo_list)
    await session.flush()
    await session.refresh(todo_list, ["items"])
    return todo_list


@app.get("/lists/{list_id}", response_model=TodoListRead)
async def get_list(list_id: uuid.UUID, session: SessionDep) -> TodoList:
    return await load_list(session, list_id)


@app.patch("/lists/{list_id}", response_model=TodoListRead)
async def update_list(list_id: uuid.UUID, data: TodoListUpdate, session: SessionDep) -> TodoList:
    todo_list = await load_list(session, list_id)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(todo_list, key, value)
    return todo_list


@app.delete("/lists/{list_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_list(list_id: uuid.UUID, session: SessionDep) -> None:
    todo_list = await load_list(session, list_id)
    await session.delete(todo_list)


@app.post(
    "/lists/{list_id}/items", response_model=TodoItemRead, status_code=status.HTTP_201_CREATED
)
async def add_item(list_id: uuid.UUID, data: TodoItemCreate, session: SessionDep) -> TodoItem:
    todo_list = await load_list(session, list_id)
    position = max((i.position for i in todo_list.items), default=-1) + 1
    item = TodoItem(**data.model_dump(), position=position, list_id=todo_list.id)
    session.add(item)
    await session.flush()
    return item


@app.patch("/items/{item_id}", response_model=TodoItemRead)
async def update_item(item_id: uuid.UUID, data: TodoItemUpdate, session: SessionDep) -> TodoItem:
    item = await session.get(TodoItem, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="item not found")
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(item, key, value)
    return item


@app.delete("/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(item_id: uuid.UUID, session: SessionDep):
    item = await session.get(TodoItem, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="item not found")
    await session.delete(item)


@app.post("/lists/{list_id}/complete", response_model=TodoListRead)
async def complete_all(list_id: uuid.UUID, session: SessionDep) -> TodoList:
    todo_list = await load_list(session, list_id)
    for item in todo_list.items:
        item.done = True
    return todo_list


@app.get("/stats", response_model=Stats)
async def stats(session: SessionDep) -> Stats:
    lists = await session.scalar(select(func.count(TodoList.id)))
    items = await session.scalar(select(func.count(TodoItem.id)))
    done = await session.scalar(select(func.count(TodoItem.id)).where(TodoItem.done.is_(True)))
    return Stats(lists=lists or 0, items=items or 0, done=done or 0)


@app.get("/search", response_model=list[TodoItemRead])
async def search(
    session: SessionDep, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> list[TodoItem]:
    rows = await session.scalars(
        select(TodoItem).where(TodoItem.text.ilike(f"%{q}%")).order_by(TodoItem.created_at)
    )
    return list(rows)


@app.get("/health")
async def health(session: SessionDep) -> dict[str, str]:
    try:
        await session.execute(select(1))
    except Exception:
        logger.exception("database unreachable")
        return {"status": "degraded"}
    return {"status": "ok"}


@app.post("/lists/{list_id}/reorder", response_model=TodoListRead)
async def reorder(
    list_id: uuid.UUID, order: list[uuid.UUID], session: SessionDep
) -> TodoList:
    todo_list = await load_list(session, list_id)
    by_id = {i.id: i for i in todo_list.items}
    unknown = [i for i in order if i not in by_id]
    if unknown:
        raise HTTPException(status_code=422, detail=f"unknown items: {unknown}")
    for position, item_id in enumerate(order):
        by_id[item_id].position = position
    return todo_list
