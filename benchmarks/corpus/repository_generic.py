"""A generic async repository plus concrete ones (clean, with one raw SQL helper)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from app.models import ApiKey, Organization, Product, User

ModelT = TypeVar("ModelT", bound=DeclarativeBase)


class Repository(Generic[ModelT]):
    """CRUD over one model. Subclasses set `model`."""

    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _select(self) -> Select[tuple[ModelT]]:
        return select(self.model)

    async def get(self, id_: UUID) -> ModelT | None:
        return await self.session.get(self.model, id_)

    async def get_many(self, ids: Iterable[UUID]) -> Sequence[ModelT]:
        ids = list(ids)
        if not ids:
            return []
        rows = await self.session.scalars(self._select().where(self.model.id.in_(ids)))
        return rows.all()

    async def list(self, *, offset: int = 0, limit: int = 50) -> Sequence[ModelT]:
        rows = await self.session.scalars(self._select().offset(offset).limit(limit))
        return rows.all()

    async def count(self) -> int:
        value = await self.session.scalar(select(func.count()).select_from(self.model))
        return int(value or 0)

    async def add(self, obj: ModelT) -> ModelT:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def update(self, id_: UUID, values: dict[str, Any]) -> int:
        result = await self.session.execute(
            update(self.model).where(self.model.id == id_).values(**values)
        )
        return result.rowcount or 0

    async def delete(self, id_: UUID) -> bool:
        result = await self.session.execute(delete(self.model).where(self.model.id == id_))
        return bool(result.rowcount)


class UserRepository(Repository[User]):
    model = User

    async def by_email(self, organization_id: UUID, email: str) -> User | None:
        stmt = self._select().where(
            User.organization_id == organization_id, func.lower(User.email) == email.lower()
        )
        return await self.session.scalar(stmt)

    async def active_in(self, organization_id: UUID) -> Sequence[User]:
        stmt = (
            self._select()
            .where(User.organization_id == organization_id, User.is_active.is_(True))
            .order_by(User.full_name)
        )
        return (await self.session.scalars(stmt)).all()

    async def deactivate_stale(self, days: int) -> int:
        stmt = text(
            "UPDATE users SET is_active = false "
            "WHERE last_login_at < now() - make_interval(days => :days)"
        )
        result = await self.session.execute(stmt, {"days": days})
        return result.rowcount or 0


class OrganizationRepository(Repository[Organization]):
    model = Organization

    async def by_slug(self, slug: str) -> Organization | None:
        return await self.session.scalar(self._select().where(Organization.slug == slug))


class ProductRepository(Repository[Product]):
    model = Product

    async def search(self, term: str | None, *, limit: int = 50) -> Sequence[Product]:
        stmt = self._select().order_by(Product.name).limit(limit)
        if term:
            stmt = stmt.where(Product.name.ilike(f"%{term}%"))
        return (await self.session.scalars(stmt)).all()

    async def by_sku(self, sku: str) -> Product | None:
        return await self.session.scalar(self._select().where(Product.sku == sku))

    async def low_stock(self, threshold: int = 5) -> Sequence[Product]:
        stmt = self._select().where(Product.stock <= threshold).order_by(Product.stock)
        return (await self.session.scalars(stmt)).all()

    async def stock_report(self, table: str) -> list[dict[str, Any]]:
        rows = await self.session.execute(text(f"SELECT sku, stock FROM {table} ORDER BY stock"))
        return [dict(r._mapping) for r in rows]


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        stmt = self._select().where(ApiKey.prefix == prefix, ApiKey.revoked.is_(False))
        return await self.session.scalar(stmt)

    async def revoke_all(self, user_id: UUID) -> int:
        result = await self.session.execute(
            update(ApiKey).where(ApiKey.user_id == user_id).values(revoked=True)
        )
        return result.rowcount or 0
