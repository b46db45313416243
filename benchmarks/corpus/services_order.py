"""Order service: business logic over async SQLAlchemy sessions (clean)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.models import Order, OrderItem, OrderStatus, Product, User
from app.schemas import OrderCreate, OrderUpdate

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """Base class of the errors the routers map to HTTP responses."""


class OrderNotFound(DomainError):
    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"order {order_id} not found")
        self.order_id = order_id


class ProductNotFound(DomainError):
    def __init__(self, product_ids: Sequence[UUID]) -> None:
        super().__init__(f"unknown products: {', '.join(map(str, product_ids))}")
        self.product_ids = tuple(product_ids)


class OutOfStock(DomainError):
    def __init__(self, sku: str, wanted: int, available: int) -> None:
        super().__init__(f"{sku}: wanted {wanted}, {available} in stock")
        self.sku = sku


class InvalidTransition(DomainError):
    def __init__(self, current: OrderStatus, wanted: OrderStatus) -> None:
        super().__init__(f"cannot move an order from {current} to {wanted}")


ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class OrderPage:
    items: Sequence[Order]
    total: int


class OrderService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, order_id: UUID, *, user: User) -> Order:
        stmt = (
            select(Order)
            .where(Order.id == order_id, Order.user_id == user.id)
            .options(selectinload(Order.items))
        )
        order = await self.session.scalar(stmt)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    async def list(self, *, user: User, page: int = 1, size: int = 20) -> OrderPage:
        base = select(Order).where(Order.user_id == user.id)
        total = await self.session.scalar(select(func.count()).select_from(base.subquery()))
        rows = await self.session.scalars(
            base.order_by(Order.created_at.desc())
            .offset((page - 1) * size)
            .limit(size)
            .options(selectinload(Order.items))
        )
        return OrderPage(items=rows.all(), total=total or 0)

    async def create(self, data: OrderCreate, *, user: User) -> Order:
        ids = [item.product_id for item in data.items]
        products = {
            p.id: p
            for p in await self.session.scalars(
                select(Product).where(Product.id.in_(ids)).with_for_update()
            )
        }
        missing = [i for i in ids if i not in products]
        if missing:
            raise ProductNotFound(missing)
        order = Order(user_id=user.id, status=OrderStatus.PENDING)
        for item in data.items:
            product = products[item.product_id]
            if product.stock < item.quantity:
                raise OutOfStock(product.sku, item.quantity, product.stock)
            product.stock -= item.quantity
            order.items.append(
                OrderItem(
                    product_id=product.id,
                    quantity=item.quantity,
                    unit_price=product.price,
                )
            )
        order.recompute_total()
        self.session.add(order)
        await self.session.flush()
        logger.info("order %s created for user %s", order.id, user.id)
        return order

    async def update_status(self, order_id: UUID, data: OrderUpdate, *, user: User) -> Order:
        order = await self.get(order_id, user=user)
        if data.status not in ALLOWED[order.status]:
            raise InvalidTransition(order.status, data.status)
        if data.status is OrderStatus.CANCELLED:
            await self._restock(order)
        order.status = data.status
        await self.session.flush()
        return order

    async def _restock(self, order: Order) -> None:
        for item in order.items:
            product = await self.session.get(Product, item.product_id, with_for_update=True)
            if product is not None:
                product.stock += item.quantity

    async def revenue(self, *, since_days: int = 30) -> Decimal:
        stmt = select(func.coalesce(func.sum(Order.total), 0)).where(
            Order.status.in_([OrderStatus.PAID, OrderStatus.SHIPPED]),
            Order.created_at >= func.now() - func.make_interval(0, 0, 0, since_days),
        )
        value = await self.session.scalar(stmt)
        return Decimal(value or 0)

    async def top_products(self, limit: int = 10) -> list[tuple[str, int]]:
        stmt = (
            select(Product.sku, func.sum(OrderItem.quantity).label("sold"))
            .join(OrderItem, OrderItem.product_id == Product.id)
            .group_by(Product.sku)
            .order_by(func.sum(OrderItem.quantity).desc())
            .limit(limit)
        )
        rows = await self.session.execute(stmt)
        return [(sku, int(sold)) for sku, sold in rows.all()]
