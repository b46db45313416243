"""Pydantic v2 schemas for users, orders and products (mostly clean, a few defects)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    SecretStr,
    computed_field,
    field_validator,
    model_validator,
)

T = TypeVar("T")

Name = Annotated[str, Field(min_length=1, max_length=200)]
Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9-]+$")]
PASSWORD_RE = re.compile(r"^(?=.*[A-Z])(?=.*\d).{8,}$")


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class APIModel(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class UserBase(APIModel):
    email: EmailStr
    full_name: Name
    role: Role = Role.MEMBER


class UserCreate(UserBase):
    password: SecretStr = Field(min_length=8, max_length=128)
    organization_id: UUID

    @field_validator("password")
    @classmethod
    def password_strength(cls, value: SecretStr) -> SecretStr:
        if not PASSWORD_RE.match(value.get_secret_value()):
            raise ValueError("password needs an upper-case letter and a digit")
        return value


class UserUpdate(APIModel):
    email: EmailStr | None = None
    full_name: Name | None = None
    role: Role | None = None
    is_active: bool | None = None


class UserRead(UserBase):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    full_name: str


class OrganizationCreate(APIModel):
    name: Name
    slug: Slug
    website: HttpUrl | None = None


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    slug: str
    members: list[UserPublic] = []


class ProductCreate(APIModel):
    sku: str = Field(min_length=3, max_length=64)
    name: Name
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    stock: int = Field(default=0, ge=0)


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    sku: str
    name: str
    price: Decimal
    stock: int


class OrderItemCreate(APIModel):
    product_id: UUID
    quantity: int = Field(ge=1, le=1000)


class OrderCreate(APIModel):
    items: list[OrderItemCreate] = Field(min_length=1, max_length=100)
    note: str | None = None
    metadata: dict[str, Any] = {}

    @model_validator(mode="after")
    def unique_products(self) -> OrderCreate:
        ids = [i.product_id for i in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError("each product may appear once per order")
        return self


class OrderItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: UUID
    quantity: int
    unit_price: Decimal


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    status: OrderStatus
    items: list[OrderItemRead]
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal:
        return sum((i.unit_price * i.quantity for i in self.items), Decimal("0"))


class OrderUpdate(APIModel):
    status: OrderStatus
    note: str | None = Field(default=None, max_length=500)


class OrderResponse(BaseModel):
    id: UUID
    status: OrderStatus
    total: Decimal


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    size: int = Field(ge=1, le=100)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pages(self) -> int:
        return (self.total + self.size - 1) // self.size


class ErrorResponse(BaseModel):
    detail: str
    code: str | None = None


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class LoginRequest(APIModel):
    email: EmailStr
    password: SecretStr = Field(max_length=128)
