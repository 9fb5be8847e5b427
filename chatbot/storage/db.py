"""The database: SQLAlchemy 2.x models, the engine, the migrations, and retention.

SQLite is the default (WAL so readers never wait for the writer, a busy timeout so two writers
queue instead of failing, foreign keys so deleting a conversation deletes its messages); any
`DATABASE_URL` SQLAlchemy understands (e.g. `postgresql+psycopg2://...`) works unchanged.
The schema lives in Alembic migrations (`migrations/`); `upgrade()` applies them. The web app's
session per request and the `init-db` and `purge` commands are in `chatbot/web/database.py`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    and_,
    create_engine,
    event,
    exists,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
TITLE_CHARS = 80
TAGS_CHARS = 200  # a review's tags, comma-separated
log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(TITLE_CHARS), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id",
        cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (Index("ix_conversations_visitor_updated", "visitor_id", "updated_at"),
                      Index("ix_conversations_created_at", "created_at"))


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(8))  # "user" or "bot"
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Visitor messages only: "ordinary", "sad" or "crisis" (chatbot.support), when classified.
    support: Mapped[str | None] = mapped_column(String(16))
    # Bot replies only: which model answered, how it decoded, how long it took, and why.
    model_version: Mapped[str | None] = mapped_column(String(128))
    options: Mapped[dict | None] = mapped_column(JSON)
    latency_ms: Mapped[float | None]
    explanation: Mapped[dict | None] = mapped_column(JSON)
    # The model's mean log-probability per piece of the reply: how sure it was (0 is certain).
    confidence: Mapped[float | None]
    # Set on a reply that "regenerate" replaced: the row is kept as evidence, visitors see the new one.
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"))

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    feedback: Mapped[Feedback | None] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True)
    corrections: Mapped[list[Correction]] = relationship(
        back_populates="message", order_by="Correction.id",
        cascade="all, delete-orphan", passive_deletes=True)


# The messages a visitor or the model sees: not replaced by a regenerated reply, not an older
# wording of an edited message, not a reply of that older wording.
CURRENT = Message.superseded_by_id.is_(None)
_newer = Message.__table__.alias("newer")
# A reply the visitor asked to replace (a regenerate), as opposed to one an edit left behind.
REGENERATED = and_(Message.role == "bot", exists().where(_newer.c.id == Message.superseded_by_id,
                                                         _newer.c.role == "bot"))
EDITED = and_(Message.role == "user", Message.superseded_by_id.is_not(None))  # an older wording


class Feedback(Base):
    """One rating per reply; rating again replaces it."""

    __tablename__ = "feedback"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    rating: Mapped[int] = mapped_column(SmallInteger)  # +1 or -1
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    message: Mapped[Message] = relationship(back_populates="feedback")


class Correction(Base):
    """A better answer a visitor proposed for one bot reply (an admin accepts or rejects it), or
    one a reviewer wrote (`written_by`, accepted as written).

    Accepted corrections replace the reply's text as the training target (see
    `chatbot.storage.transcripts.transcript_record`); pending and rejected ones are never used.
    """

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="pending")  # or accepted, rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    written_by: Mapped[str | None] = mapped_column(String(64))  # None: the visitor wrote it

    message: Mapped[Message] = relationship(back_populates="corrections")


class Review(Base):
    """An admin's notes on one conversation: flagged, reviewed, free tags."""

    __tablename__ = "reviews"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[str] = mapped_column(String(TAGS_CHARS), default="")  # comma-separated


class AdminUser(Base):
    """An administrator: a werkzeug password hash and the failed-login counter of the lockout."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)  # +1 ends every session


class ModelSwitch(Base):
    """Each activation of a model bundle; the newest row is the model every worker serves."""

    __tablename__ = "model_switches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_dir: Mapped[str] = mapped_column(String(512))
    version: Mapped[str] = mapped_column(String(128))
    admin: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A gthread worker runs up to GUNICORN_THREADS (16) requests at once, plus the model watcher, and
# a view waiting on the model may hold its connection: SQLAlchemy's default 5 + 10 made the 16th
# wait 30 s and fail (bench.hostile). 32 per worker stays under PostgreSQL's default 100 with 2-3.
POOL = {"pool_size": 5, "max_overflow": 27}


def sqlite_file(url) -> str:
    """The file a SQLite URL names ("" for none or :memory:), a URI filename included
    (sqlite:///file:/path/db?mode=ro&uri=true names /path/db)."""
    database = (url.database or "").removeprefix("file:").split("?")[0]
    return "" if database == ":memory:" else database


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **POOL)
    database = sqlite_file(parsed)
    if database and parsed.query.get("mode") != "ro":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **POOL)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL against a crashed process
        cursor.execute("PRAGMA secure_delete=ON")  # deleted text is zeroed, not left in free pages
        cursor.close()

    return engine


def erase_traces(session: Session) -> None:
    """After a delete for good on SQLite, leave no copy of the deleted text in the files: merge
    the full-text index (FTS5 keeps a deleted message's words in older segments until a merge)
    and checkpoint the write-ahead log into the main file, truncating it (its old frames hold
    the rows as they were). A checkpoint that other connections' reads hold back finishes at
    the next one; PostgreSQL's own vacuum does this job there."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.commit()
    session.execute(text("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')"))
    session.commit()
    connection = session.connection()
    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    session.commit()


def upgrade(url: str) -> None:
    """Bring the schema at `url` to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")


MIN_FREE_BYTES = 1 << 20  # below this, SQLite's next page or WAL frame may not fit


def write_problem(url: str) -> str | None:
    """Why a SQLite database cannot take writes although it answers reads ("disk full",
    "read-only"), or None. A server database (PostgreSQL) reports its own failures on write."""
    import os
    import shutil

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.query.get("mode") == "ro" or parsed.database.startswith("file:") and "mode=ro" in url:
        return "read-only"
    path = Path(sqlite_file(parsed))
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        return "read-only"
    try:
        if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
            return "disk full"
    except OSError:
        return None
    return None


def ping(session: Session) -> bool:
    """True when the database answers a trivial query."""
    try:
        session.execute(text("SELECT 1"))
        session.rollback()
        return True
    except Exception:  # any driver error means "not reachable"
        log.exception("database ping failed")
        return False


def purge(session: Session, older_than: timedelta) -> int:
    """Delete conversations untouched for `older_than`; returns how many."""
    cutoff = utcnow() - older_than
    old = session.scalars(select(Conversation).where(Conversation.updated_at < cutoff)).all()
    for conversation in old:
        session.delete(conversation)
    session.commit()
    if old:
        erase_traces(session)
    return len(old)
