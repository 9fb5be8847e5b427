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

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, literal_column, select, text

from chatbot.storage.db import CURRENT, REGENERATED, Conversation, Correction, Feedback, Message, Review

FTS_TABLE = "messages_fts"
PG_INDEX = "ix_messages_text_search"
WORD = re.compile(r"\w+")
SORTS = ("newest", "confidence")  # newest first; least confident reply first


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


def _parse_date(value: str | None, problems: list, name: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        problems.append(("date", name, value[:20]))
        return None


INT_BOUND = 2**31 - 1  # a count or id past this matches nothing, and overflows a driver


def _parse_number(value: str | None, problems: list, name: str, kind: type) -> Any:
    try:
        number = kind(value) if value not in (None, "") else None
    except (ValueError, OverflowError):
        problems.append(("number", name, value[:20]))
        return None
    if kind is int and number is not None:
        return min(max(number, -INT_BOUND), INT_BOUND)
    if kind is float and number is not None and number != number:  # NaN compares to nothing
        problems.append(("number", name, value[:20]))
        return None
    return number


def _on(value: str | None) -> bool:
    return value in ("1", "on", "true")


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


SUPPORT_FILTERS = {"": (), "sad": ("sad", "crisis"), "crisis": ("crisis",)}


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
    pending: bool = False  # has a visitor's suggestion waiting for review
    regenerated: bool = False  # a visitor asked for another answer at least once
    visitor: str = ""  # the start of the visitor id
    min_messages: int | None = None
    max_messages: int | None = None
    below: float | None = None  # has a reply less confident than this share (chatbot.confidence)
    support: str = ""  # "sad": a visitor message was sad news or a crisis; "crisis": a crisis
    sort: str = "newest"
    # What was ignored: (kind: date, number, inverted or sort; the parameter; its value).
    problems: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        """From a query string; what cannot be used (a malformed or inverted date range, a
        number that is not one) is ignored and said in `problems`, rather than failing the page."""
        problems: list[tuple[str, str, str]] = []
        date_from = _parse_date(args.get("from"), problems, "from")
        date_to = _parse_date(args.get("to"), problems, "to")
        if date_from and date_to and date_from > date_to:
            problems.append(("inverted", "from", f"{date_from} > {date_to}"))
            date_from = date_to = None
        sort = args.get("sort") or "newest"
        if sort not in SORTS:
            problems.append(("sort", "sort", sort[:20]))
            sort = "newest"
        lengths = [_parse_number(args.get(k), problems, k, int) for k in ("min", "max")]
        lengths = [None if n is None else max(0, n) for n in lengths]
        below = _parse_number(args.get("below"), problems, "below", float)
        if below is not None and below != below:  # NaN matches nothing
            problems.append(("number", "below", "nan"))
            below = None
        if below is not None:  # a share: past 1 every reply is below it, under 0 none is
            below = min(max(below, 0.0), 1.0)
        support = args.get("support") or ""
        if support not in SUPPORT_FILTERS:
            problems.append(("support", "support", support[:20]))
            support = ""
        return cls(
            q=(args.get("q") or "").replace("\x00", "").strip()[:200],
            date_from=date_from, date_to=date_to,
            negative=_on(args.get("negative")),
            model=(args.get("model") or "").strip()[:128],
            flagged=_on(args.get("flagged")),
            unreviewed=_on(args.get("unreviewed")),
            pending=_on(args.get("pending")),
            regenerated=_on(args.get("regenerated")),
            visitor=(args.get("visitor") or "").replace("\x00", "").strip()[:64],
            min_messages=lengths[0], max_messages=lengths[1], below=below, support=support,
            sort=sort,
            problems=tuple(problems),
        )

    def to_args(self) -> dict[str, str]:
        """The query string that reproduces these filters (for pagination and export links)."""
        args = {"q": self.q, "model": self.model, "visitor": self.visitor,
                "from": self.date_from.isoformat() if self.date_from else "",
                "to": self.date_to.isoformat() if self.date_to else "",
                "min": "" if self.min_messages is None else str(self.min_messages),
                "max": "" if self.max_messages is None else str(self.max_messages),
                "below": "" if self.below is None else repr(self.below),
                "support": self.support,
                "sort": "" if self.sort == "newest" else self.sort}
        args.update({k: "1" for k, v in asdict(self).items() if v is True})
        return {k: v for k, v in args.items() if v}

    def apply(self, query: Select, dialect: str) -> Select:
        """`query` (over Conversation) narrowed to the conversations these filters keep."""
        if self.q:
            hit = select(Message.conversation_id).where(matching_messages(dialect, self.q))
            query = query.where(Conversation.id.in_(hit))
        if self.date_from:
            query = query.where(Conversation.created_at >= day_start(self.date_from))
        if self.date_to and self.date_to < date.max:  # 9999-12-31 has no next day: no bound
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
        return self._apply_triage(query)

    def _apply_triage(self, query: Select) -> Select:
        """The filters that find conversations needing a reviewer."""
        if self.pending:
            query = query.where(exists().where(
                Message.conversation_id == Conversation.id, Correction.message_id == Message.id,
                Correction.status == "pending"))
        if self.regenerated:
            query = query.where(exists().where(Message.conversation_id == Conversation.id, REGENERATED))
        if self.visitor:
            query = query.where(Conversation.visitor_id.startswith(self.visitor, autoescape=True))
        if self.min_messages is not None or self.max_messages is not None:
            length = message_count()
            if self.min_messages is not None:
                query = query.where(length >= self.min_messages)
            if self.max_messages is not None:
                query = query.where(length <= self.max_messages)
        if self.below is not None:  # a share, compared with the stored mean log-probability
            under = Message.confidence < math.log(min(self.below, 1.0)) if self.below > 0 else false()
            query = query.where(exists().where(Message.conversation_id == Conversation.id, CURRENT, under))
        if self.support:
            query = query.where(exists().where(
                Message.conversation_id == Conversation.id,
                Message.support.in_(SUPPORT_FILTERS[self.support])))
        return query

    def order(self, query: Select) -> Select:
        """`query` (over Conversation) in this sort order; ties newest first."""
        newest = (Conversation.created_at.desc(), Conversation.id.desc())
        if self.sort == "confidence":  # conversations without a scored reply come last
            least = lowest_confidence()
            return query.order_by(least.is_(None), least, *newest)
        return query.order_by(*newest)


def message_count():
    """The number of messages a visitor sees in each conversation (a correlated subquery)."""
    return (select(func.count()).where(Message.conversation_id == Conversation.id, CURRENT)
            .correlate(Conversation).scalar_subquery())


def lowest_confidence():
    """The least confident current reply of each conversation (a correlated subquery)."""
    return (select(func.min(Message.confidence))
            .where(Message.conversation_id == Conversation.id, CURRENT)
            .correlate(Conversation).scalar_subquery())

