"""The admin inbox's filters and full-text search over messages, on SQLite and PostgreSQL.

SQLite: an FTS5 external-content table `messages_fts` indexes `messages.text`; three triggers keep
it in sync (cascading deletes fire them too). PostgreSQL: a GIN index on
`to_tsvector('simple', text)` answers `plainto_tsquery`. Migration 0002 creates both (they live
outside the ORM models, so a schema from `Base.metadata.create_all` has no search). Either way the
visitor's words are bound parameters, never SQL; on SQLite each word is quoted, so FTS syntax
(`"`, `*`, `(`, `NEAR`, `-`) is searched for as text. A query with no word characters at all
falls back to a substring match. See https://www.sqlite.org/fts5.html#external_content_tables.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, literal_column, select, text

from chatbot.storage.db import Conversation, Feedback, Message, Review

FTS_TABLE = "messages_fts"
PG_INDEX = "ix_messages_text_search"
WORD = re.compile(r"\w+")


def is_search_object(name: str | None) -> bool:
    """True for the tables and index that search adds outside the ORM models (for Alembic)."""
    return bool(name) and (name.startswith(FTS_TABLE) or name == PG_INDEX)


def matching_messages(dialect: str, query: str):
    """A WHERE clause on Message: the message contains every word of `query`."""
    words = WORD.findall(query)
    if not words:
        needle = query.strip().lower()
        return Message.text.ilike(f"%{_escape_like(needle)}%", escape="\\")
    if dialect == "sqlite":
        phrase = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        fts = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_query")
        return Message.id.in_(fts.bindparams(fts_query=phrase).columns(rowid=Message.id.type))
    if dialect == "postgresql":
        config = literal_column("'simple'")  # a literal, so the planner can use the GIN index
        return func.to_tsvector(config, Message.text).op("@@")(
            func.plainto_tsquery(config, " ".join(words)))
    return and_(*(Message.text.ilike(f"%{_escape_like(w)}%", escape="\\") for w in words))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """What the inbox (and its exports) show: every field is optional."""

    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    negative: bool = False
    model: str = ""
    flagged: bool = False
    unreviewed: bool = False

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        """From a query string; malformed dates are ignored rather than failing the page."""
        return cls(
            q=(args.get("q") or "").replace("\x00", "").strip()[:200],
            date_from=_parse_date(args.get("from")),
            date_to=_parse_date(args.get("to")),
            negative=args.get("negative") in ("1", "on", "true"),
            model=(args.get("model") or "").strip()[:128],
            flagged=args.get("flagged") in ("1", "on", "true"),
            unreviewed=args.get("unreviewed") in ("1", "on", "true"),
        )

    def to_args(self) -> dict[str, str]:
        """The query string that reproduces these filters (for pagination and export links)."""
        args = {"q": self.q, "model": self.model,
                "from": self.date_from.isoformat() if self.date_from else "",
                "to": self.date_to.isoformat() if self.date_to else ""}
        args.update({k: "1" for k, v in asdict(self).items() if v is True})
        return {k: v for k, v in args.items() if v}

    def apply(self, query: Select, dialect: str) -> Select:
        """`query` (over Conversation) narrowed to the conversations these filters keep."""
        if self.q:
            hit = select(Message.conversation_id).where(matching_messages(dialect, self.q))
            query = query.where(Conversation.id.in_(hit))
        if self.date_from:
            query = query.where(Conversation.created_at >= day_start(self.date_from))
        if self.date_to:
            query = query.where(Conversation.created_at < day_start(self.date_to + timedelta(1)))
        if self.negative:
            query = query.where(exists().where(
                Message.conversation_id == Conversation.id, Feedback.message_id == Message.id,
                Feedback.rating < 0))
        if self.model:
            query = query.where(exists().where(
                Message.conversation_id == Conversation.id, Message.model_version == self.model))
        if self.flagged:
            query = query.where(exists().where(
                Review.conversation_id == Conversation.id, Review.flagged.is_(True)))
        if self.unreviewed:
            query = query.where(~exists().where(
                Review.conversation_id == Conversation.id, Review.reviewed_at.is_not(None)))
        return query

