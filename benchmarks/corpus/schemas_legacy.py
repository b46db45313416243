"""Pydantic schemas written in v1 style (the defects a sloppy model produces)."""

from datetime import datetime
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Field, root_validator, validator


class UserBase(BaseModel):
    email: str
    username: str
    full_name: Optional[str] = None


class UserCreate(UserBase):
    id: int
    password: str
    created_at: datetime

    @validator("password")
    def password_min_length(cls, v):
        if len(v) < 8:
            raise ValueError("password too short")
        return v


class UserUpdate(BaseModel):
    email: str
    username: str
    full_name: Optional[str]


class UserInDB(UserBase):
    id: int
    hashed_password: str
    is_active: bool = True

    class Config:
        orm_mode = True


class UserOut(UserBase):
    id: int
    is_active: bool


class PostBase(BaseModel):
    title: str = Field(..., max_length=200)
    body: str
    tags: List[str] = []


class PostCreate(PostBase):
    extra: Dict[str, Any] = {}


class PostUpdate(PostBase):
    published: bool


class Post(PostBase):
    id: int
    author_id: int
    created_at: datetime
    schema: Optional[str] = None

    class Config:
        orm_mode = True
        allow_population_by_field_name = True


class CommentCreate(BaseModel):
    body: str
    post_id: int


class Comment(BaseModel):
    id: int
    body: str
    author: UserOut

    class Config:
        orm_mode = True


class SearchQuery(BaseModel):
    q: str
    limit: int = 20
    offset: int = 0

    @root_validator
    def check_limit(cls, values):
        if values.get("limit", 0) > 100:
            values["limit"] = 100
        return values


class Pagination(BaseModel):
    total: int
    items: List[Any]

    def to_dict(self):
        return self.dict()

    @classmethod
    def from_raw(cls, raw):
        return cls.parse_obj(raw)


class Settings(BaseModel):
    database_url: str
    secret_key: str
    debug: bool = False
    allowed_hosts: List[str] = ["*"]

    class Config:
        env_file = ".env"
        allow_mutation = False
