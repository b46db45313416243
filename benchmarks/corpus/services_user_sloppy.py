"""User service as a sloppy model writes it: HTTP errors in the service, swallowed errors."""

import hashlib
import logging
import os
from datetime import datetime, timedelta

import jwt
from fastapi import HTTPException, status
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import models, schemas

logger = logging.getLogger(__name__)

SECRET_KEY = os.getenv("SECRET_KEY", "change-me")
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30


def hash_password(password):
    return hashlib.sha256(password.encode()).hexdigest()


def verify_password(plain, hashed):
    return hash_password(plain) == hashed


class UserService:
    def __init__(self, db: Session):
        self.db = db

    def get_user(self, user_id: int):
        user = self.db.query(models.User).filter(models.User.id == user_id).first()
        if not user:
            raise HTTPException(status_code=404, detail="User not found")
        return user

    def get_by_email(self, email: str):
        return self.db.query(models.User).filter(models.User.email == email).first()

    def list_users(self, skip: int = 0, limit: int = 100):
        return self.db.query(models.User).offset(skip).limit(limit).all()

    def create_user(self, data: schemas.UserCreate):
        if self.get_by_email(data.email):
            raise HTTPException(status_code=400, detail="Email already registered")
        user = models.User(
            email=data.email,
            username=data.username,
            hashed_password=hash_password(data.password),
        )
        try:
            self.db.add(user)
            self.db.commit()
            self.db.refresh(user)
        except Exception as e:
            logger.error(f"Error creating user: {e}")
            self.db.rollback()
            return None
        return user

    def update_user(self, user_id: int, data: schemas.UserUpdate):
        user = self.get_user(user_id)
        for key, value in data.dict(exclude_unset=True).items():
            setattr(user, key, value)
        self.db.commit()
        return user

    def delete_user(self, user_id: int):
        user = self.get_user(user_id)
        try:
            self.db.delete(user)
            self.db.commit()
        except:
            pass
        return {"ok": True}

    def search(self, term: str):
        query = f"SELECT * FROM users WHERE username LIKE '%{term}%' OR email LIKE '%{term}%'"
        return self.db.execute(text(query)).fetchall()

    def count_by_domain(self, domain):
        sql = "SELECT count(*) FROM users WHERE email LIKE '%%@%s'" % domain
        return self.db.execute(text(sql)).scalar()

    def authenticate(self, email: str, password: str):
        user = self.get_by_email(email)
        if not user or not verify_password(password, user.hashed_password):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="Incorrect email or password",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return user

    def create_access_token(self, data: dict, expires_delta: timedelta = None):
        to_encode = data.copy()
        expire = datetime.utcnow() + (expires_delta or timedelta(minutes=15))
        to_encode.update({"exp": expire})
        return jwt.encode(to_encode, SECRET_KEY, algorithm=ALGORITHM)

    def current_user(self, token: str):
        try:
            payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
            email = payload.get("sub")
        except Exception:
            return None
        return self.get_by_email(email)


class NotificationService:
    def __init__(self, db, mailer):
        self.db = db
        self.mailer = mailer

    async def notify(self, user_id, message):
        user = self.db.query(models.User).get(user_id)
        if user is None:
            raise HTTPException(404, "no such user")
        try:
            await self.mailer.send(user.email, message)
        except Exception:
            logger.warning("mail failed")

    async def broadcast(self, message: str) -> int:
        sent = 0
        for user in self.db.query(models.User).filter(models.User.is_active == True):
            try:
                await self.mailer.send(user.email, message)
                sent += 1
            except Exception:
                continue
        return sent
