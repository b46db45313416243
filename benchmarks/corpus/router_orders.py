"""FastAPI routers for orders and products (clean; HTTP errors belong here)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import get_current_user, get_session
from app.models import User
from app.schemas import (
    ErrorResponse,
    OrderCreate,
    OrderRead,
    OrderUpdate,
    Page,
    ProductCreate,
    ProductRead,
)
from app.services.order_service import (
    InvalidTransition,
    OrderNotFound,
    OrderService,
    OutOfStock,
    ProductNotFound,
)
from app.services.product_service import DuplicateSku, ProductService

router = APIRouter(prefix="/orders", tags=["orders"])
products = APIRouter(prefix="/products", tags=["products"])

SessionDep = Annotated[AsyncSession, Depends(get_session)]
UserDep = Annotated[User, Depends(get_current_user)]


def order_service(session: SessionDep) -> OrderService:
    return OrderService(session)


def product_service(session: SessionDep) -> ProductService:
    return ProductService(session)


OrdersDep = Annotated[OrderService, Depends(order_service)]
ProductsDep = Annotated[ProductService, Depends(product_service)]


@router.get("", response_model=Page[OrderRead])
async def list_orders(
    service: OrdersDep,
    user: UserDep,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[OrderRead]:
    result = await service.list(user=user, page=page, size=size)
    return Page[OrderRead](
        items=[OrderRead.model_validate(o) for o in result.items],
        total=result.total,
        page=page,
        size=size,
    )


@router.get(
    "/{order_id}",
    response_model=OrderRead,
    responses={404: {"model": ErrorResponse}},
)
async def get_order(order_id: UUID, service: OrdersDep, user: UserDep) -> OrderRead:
    try:
        order = await service.get(order_id, user=user)
    except OrderNotFound as exc:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    return OrderRead.model_validate(order)


@router.post(
    "",
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}},
)
async def create_order(
    data: OrderCreate, service: OrdersDep, user: UserDep, session: SessionDep
) -> OrderRead:
    try:
        order = await service.create(data, user=user)
    except ProductNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except OutOfStock as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    await session.commit()
    return OrderRead.model_validate(order)


@router.patch("/{order_id}", response_model=OrderRead)
async def update_order(
    order_id: UUID,
    data: OrderUpdate,
    service: OrdersDep,
    user: UserDep,
    session: SessionDep,
) -> OrderRead:
    try:
        order = await service.update_status(order_id, data, user=user)
    except OrderNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except InvalidTransition as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    await session.commit()
    return OrderRead.model_validate(order)


@router.delete("/{order_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_order(
    order_id: UUID, service: OrdersDep, user: UserDep, session: SessionDep
) -> Response:
    try:
        await service.update_status(order_id, OrderUpdate(status="cancelled"), user=user)
    except OrderNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except InvalidTransition as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@products.get("", response_model=list[ProductRead])
async def list_products(
    service: ProductsDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ProductRead]:
    rows = await service.search(q, limit=limit)
    return [ProductRead.model_validate(p) for p in rows]


@products.post("", response_model=ProductRead, status_code=status.HTTP_201_CREATED)
async def create_product(
    data: ProductCreate, service: ProductsDep, session: SessionDep, user: UserDep
) -> ProductRead:
    if not user.is_admin:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="admins only")
    try:
        product = await service.create(data)
    except DuplicateSku as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    await session.commit()
    return ProductRead.model_validate(product)


@products.get("/{product_id}", response_model=ProductRead)
async def get_product(product_id: UUID, service: ProductsDep) -> ProductRead:
    product = await service.get(product_id)
    if product is None:
        raise HTTPException(status_code=404, detail="product not found")
    return ProductRead.model_validate(product)
