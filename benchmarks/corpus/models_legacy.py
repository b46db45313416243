"""SQLAlchemy models in 1.x style, as older training data makes models write them (defects)."""

import datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import relationship, sessionmaker
from sqlalchemy import create_engine

SQLALCHEMY_DATABASE_URL = "postgresql://user:password@localhost/app"

engine = create_engine(SQLALCHEMY_DATABASE_URL, pool_pre_ping=True)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)

Base = declarative_base()


post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", Integer, ForeignKey("posts.id"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True, index=True)
    email = Column(String, unique=True, index=True, nullable=False)
    username = Column(String(50), unique=True, nullable=False)
    hashed_password = Column(String, nullable=False)
    is_active = Column(Boolean, default=True)
    is_superuser = Column(Boolean, default=False)
    created_at = Column(DateTime, default=datetime.datetime.utcnow)
    updated_at = Column(DateTime, default=datetime.datetime.utcnow, onupdate=datetime.datetime.utcnow)

    posts = relationship("Post", backref="author", lazy="dynamic")
    comments = relationship("Comment", back_populates="author")
    profile = relationship("Profile", uselist=False, back_populates="user")

    def __repr__(self):
        return "<User %r>" % self.username


class Profile(Base):
    __tablename__ = "profiles"

    id = Column(Integer, primary_key=True)
    bio = Column(Text)
    avatar_url = Column(String(500))
    website = Column(String(200))
    user_id = Column(Integer, ForeignKey("users.id"))

    user = relationship("User", back_populates="profile")


class Post(Base):
    __tablename__ = "posts"

    id = Column(Integer, primary_key=True, index=True)
    title = Column(String(200), nullable=False)
    slug = Column(String(200), unique=True)
    body = Column(Text, nullable=False)
    published = Column(Boolean, default=False)
    rating = Column(Float, default=0.0)
    author_id = Column(Integer, ForeignKey("users.id"))
    created_at = Column(DateTime, default=datetime.datetime.utcnow)

    comments = relationship("Comment", backref="post", cascade="all, delete-orphan")
    tags = relationship("Tag", secondary=post_tags, backref="posts")

    def summary(self, length=200):
        if len(self.body) <= length:
            return self.body
        return self.body[:length].rsplit(" ", 1)[0] + "..."


class Comment(Base):
    __tablename__ = "comments"

    id = Column(Integer, primary_key=True)
    body = Column(Text, nullable=False)
    post_id = Column(Integer, ForeignKey("posts.id"))
    author_id = Column(Integer, ForeignKey("users.id"))
    created_at = Column(DateTime, default=datetime.datetime.utcnow)

    author = relationship("User", back_populates="comments")


class Tag(Base):
    __tablename__ = "tags"

    id = Column(Integer, primary_key=True)
    name = Column(String(50), unique=True, nullable=False)


class AuditEvent(Base):
    id = Column(Integer, primary_key=True)
    action = Column(String(100))
    payload = Column(Text)
    user_id = Column(Integer, ForeignKey("users.id"))
    created_at = Column(DateTime, default=datetime.datetime.utcnow)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def init_db():
    Base.metadata.create_all(bind=engine)


def get_user_by_email(db, email):
    return db.query(User).filter(User.email == email).first()


def get_posts(db, skip=0, limit=100):
    return db.query(Post).filter(Post.published == True).offset(skip).limit(limit).all()


def search_posts(db, term):
    sql = "SELECT * FROM posts WHERE title LIKE '%" + term + "%'"
    return db.execute(sql).fetchall()


def count_comments(db, post_id):
    try:
        return db.query(Comment).filter(Comment.post_id == post_id).count()
    except Exception:
        return 0
