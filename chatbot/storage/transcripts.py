"""Transcripts for review: the inbox page, one conversation, and the JSONL/CSV exports.

The JSONL export is the transcript format `train.corpora.load_transcripts` reads, one conversation
per line: {"id", "created_at", "model_versions", "turns": [{"role", "text", "rating"?,
"correction"?}]}. A bot turn's "correction" is the newest correction an admin accepted (the loader
trains on it instead of the reply); pending and rejected ones are left out. With `text_only` a
line is just {"turns": [{"role", "text", "correction"?}]}: no ids, times, versions or ratings.
Deleted conversations are gone from the database (deletes cascade), so no export contains them.
Replies a visitor regenerated, and the older wordings of an edited message with their replies,
are kept in the database but left out of the JSONL (the turns must alternate as the visitor saw
them). The CSV has one row per message, superseded ones included (with the id of the message that
took their place and why), for spreadsheets; cells that a spreadsheet would
run as a formula (starting with = + - @) get a leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from chatbot import confidence
from chatbot.storage.conversations import branches, version_chains
from chatbot.storage.db import (
    CURRENT,
    EDITED,
    REGENERATED,
    TAGS_CHARS,
    Conversation,
    Correction,
    Feedback,
    Message,
    Review,
    erase_traces,
    utcnow,
)
from chatbot.storage.search import Filters

PAGE_SIZE = 25
EXPORT_CHUNK = 200
CSV_COLUMNS = ["conversation_id", "conversation_created_at", "message_id", "role", "text",
               "created_at", "model_version", "latency_ms", "options", "rating", "comment",
               "confidence", "confidence_level", "superseded_by", "change", "accepted_correction",
               "flagged", "tags"]


@dataclass
class InboxRow:
    conversation: Conversation
    messages: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    models: list[str] = field(default_factory=list)
    review: Review | None = None
    pending: int = 0  # visitors' suggestions waiting for review
    regenerated: int = 0  # replies a visitor asked to replace
    edited: int = 0  # older wordings of messages the visitor edited
    lowest_confidence: float | None = None


@dataclass
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    pages: int


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def inbox(session: Session, filters: Filters, page: int = 1, per_page: int = PAGE_SIZE) -> InboxPage:
    """One page of the filtered conversations, newest first, with their counts."""
    query = filters.apply(select(Conversation.id), _dialect(session))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    conversations = session.scalars(
        filters.order(filters.apply(select(Conversation), _dialect(session)))
        .offset((page - 1) * per_page).limit(per_page)).all()
    rows = {c.id: InboxRow(c) for c in conversations}
    ids = list(rows)
    if ids:
        for cid, count, regenerated, edited, lowest in session.execute(
                select(Message.conversation_id, func.count(Message.id).filter(CURRENT),
                       func.count(Message.id).filter(REGENERATED),
                       func.count(Message.id).filter(EDITED),
                       func.min(Message.confidence).filter(CURRENT))
                .where(Message.conversation_id.in_(ids)).group_by(Message.conversation_id)):
            row = rows[cid]
            row.messages, row.regenerated, row.edited = count, regenerated, edited
            row.lowest_confidence = lowest
        for cid, count in session.execute(
                select(Message.conversation_id, func.count())
                .join(Correction, Correction.message_id == Message.id)
                .where(Message.conversation_id.in_(ids), Correction.status == "pending")
                .group_by(Message.conversation_id)):
            rows[cid].pending = count
        for cid, rating, count in session.execute(
                select(Message.conversation_id, Feedback.rating, func.count())
                .join(Feedback, Feedback.message_id == Message.id)
                .where(Message.conversation_id.in_(ids))
                .group_by(Message.conversation_id, Feedback.rating)):
            if rating > 0:
                rows[cid].thumbs_up += count
            else:
                rows[cid].thumbs_down += count
        for cid, version in session.execute(
                select(Message.conversation_id, Message.model_version).distinct()
                .where(Message.conversation_id.in_(ids), Message.model_version.is_not(None))
                .order_by(Message.model_version)):
            rows[cid].models.append(version)
        for review in session.scalars(select(Review).where(Review.conversation_id.in_(ids))):
            rows[review.conversation_id].review = review
    return InboxPage(list(rows.values()), total, page, pages)


def model_versions(session: Session) -> list[str]:
    """Every model version that has replied, for the filter's choices."""
    return list(session.scalars(select(Message.model_version).distinct()
                                .where(Message.model_version.is_not(None))
                                .order_by(Message.model_version)))


def _with_messages():
    """Load options: the messages with their feedback and corrections, in three queries."""
    messages = selectinload(Conversation.messages)
    return (messages.selectinload(Message.feedback), messages.selectinload(Message.corrections))


def transcript(session: Session, conversation_id: int) -> Conversation | None:
    return session.scalar(select(Conversation).where(Conversation.id == conversation_id)
                          .options(*_with_messages()))


def shown_with_versions(conversation: Conversation) -> list[tuple[Message, list[Message], dict]]:
    """The messages the visitor sees, oldest first, each with its earlier versions (oldest
    first): for a reply, those the visitor regenerated; for a visitor's message, the wordings an
    edit replaced. The third item maps each message id to the replies it got (the branch an
    older wording keeps)."""
    chains = version_chains(conversation.messages)
    answered = branches(conversation.messages)
    return [(m, chains[m.id][:-1], answered) for m in conversation.messages if m.id in chains]


def neighbours(session: Session, filters: Filters, conversation_id: int) -> tuple[int | None, int | None]:
    """The conversations before and after this one in the filtered inbox order (previous,
    next), for moving through a triage without going back to the list."""
    ids = list(session.scalars(filters.order(filters.apply(select(Conversation.id),
                                                           _dialect(session)))))
    if conversation_id not in ids:
        return None, None
    at = ids.index(conversation_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def delete(session: Session, conversation: Conversation) -> None:
    """Delete a conversation for good: its messages, feedback, corrections and review go too."""
    session.delete(conversation)
    session.commit()
    erase_traces(session)


def review_of(session: Session, conversation_id: int) -> Review | None:
    return session.get(Review, conversation_id)


CORRECTION_STATUSES = ("accepted", "rejected", "pending")


def review_correction(session: Session, correction_id: int, admin: str, status: str,
                      edited: str | None = None) -> Correction | None:
    """Accept, reject or reopen (pending) one correction; None when there is no such id.

    Accepting with `edited` text that differs keeps the visitor's words as they were and adds
    the admin's version as a newer accepted correction, which is the one training uses.
    """
    if status not in CORRECTION_STATUSES:
        raise ValueError(f"unknown correction status {status!r}")
    correction = session.get(Correction, correction_id)
    if correction is None:
        return None
    correction.status = status
    if status == "pending":
        correction.reviewed_by, correction.reviewed_at = None, None
    else:
        correction.reviewed_by, correction.reviewed_at = admin, utcnow()
    if status == "accepted" and edited and edited != correction.text:
        already = session.scalar(select(Correction.id).where(
            Correction.message_id == correction.message_id, Correction.text == edited,
            Correction.status == "accepted", Correction.written_by.is_not(None)).limit(1))
        if already is None:  # accepting the same edit twice keeps one row
            _written(session, correction.message_id, admin, edited)
    session.commit()
    return correction


def _written(session: Session, message_id: int, admin: str, text: str) -> Correction:
    now = utcnow()
    correction = Correction(message_id=message_id, text=text, status="accepted", created_at=now,
                            reviewed_by=admin, reviewed_at=now, written_by=admin)
    session.add(correction)
    return correction


def write_correction(session: Session, message: Message, admin: str, text: str) -> Correction:
    """A better answer an admin wrote for a bot reply: accepted at once, attributed to them, and
    the reply's training target from now on (the newest accepted correction wins)."""
    if message.role != "bot":
        raise ValueError("corrections are for the bot's replies")
    correction = _written(session, message.id, admin, text)
    session.commit()
    return correction


def bot_reply(session: Session, message_id: int) -> Message | None:
    message = session.get(Message, message_id)
    return message if message is not None and message.role == "bot" else None


def pending_count(session: Session) -> int:
    """Visitors' suggestions waiting for an admin (the count in the navigation)."""
    return session.scalar(select(func.count()).select_from(Correction)
                          .where(Correction.status == "pending")) or 0


@dataclass
class QueueItem:
    """One pending suggestion with what a reviewer needs to judge it without the transcript."""

    correction: Correction
    reply: Message
    asked: list[Message]  # the visitor's turns the reply answered (usually one)
    left: int  # pending suggestions in all, this one included
    before: list[Message] = field(default_factory=list)  # the two turns before those, oldest first


def next_pending(session: Session, after: int = 0) -> QueueItem | None:
    """The oldest pending suggestion with an id above `after` (skipped ones stay pending), else
    the oldest of all; None when none is pending."""
    pending = select(Correction).where(Correction.status == "pending").order_by(Correction.id)
    correction = (session.scalar(pending.where(Correction.id > after).limit(1))
                  or session.scalar(pending.limit(1)))
    if correction is None:
        return None
    reply = correction.message
    earlier = session.scalars(select(Message).where(
        Message.conversation_id == reply.conversation_id, Message.id < reply.id, CURRENT)
        .order_by(Message.id.desc()).limit(6)).all()
    asked = []
    for message in earlier:  # the user's turns right before the reply
        if message.role != "user":
            break
        asked.insert(0, message)
    before = list(reversed(earlier[len(asked):len(asked) + 2]))
    return QueueItem(correction, reply, asked, pending_count(session), before)


def _change(message: Message, roles: dict[int, str]) -> str:
    """Why a superseded row is not shown: "regenerated" (a reply the visitor asked to replace),
    "edited" (an older wording of a visitor's message) or "edited_reply" (the reply that older
    wording got); "" for what the visitor sees."""
    newer = roles.get(message.superseded_by_id)
    if newer is None:
        return ""
    if message.role == "user":
        return "edited"
    return "regenerated" if newer == "bot" else "edited_reply"


def _confidence_cells(mean_logp: float | None) -> tuple[object, str]:
    """The share and level the pages show (chatbot.confidence), not the stored log-probability."""
    if mean_logp is None:
        return "", ""
    share = confidence.share(mean_logp)
    return round(share, 3), confidence.level(share)


def accepted_correction(message: Message) -> str | None:
    """The newest accepted correction of a reply: the text training uses instead of the reply."""
    accepted = [c for c in message.corrections if c.status == "accepted"]
    return accepted[-1].text if accepted else None


def set_review(session: Session, conversation_id: int, admin: str, *, flagged: bool,
               reviewed: bool, tags: str) -> Review:
    review = session.get(Review, conversation_id) or Review(conversation_id=conversation_id)
    review.flagged = flagged
    clean_tags = sorted({t.strip()[:40] for t in tags.split(",") if t.strip()})
    review.tags = ", ".join(clean_tags)[:TAGS_CHARS]
    if reviewed and review.reviewed_at is None:
        review.reviewed_at, review.reviewed_by = utcnow(), admin
    elif not reviewed:
        review.reviewed_at, review.reviewed_by = None, None
    session.add(review)
    session.commit()
    return review


# -- exports ------------------------------------------------------------------------------------


def _filtered(session: Session, filters: Filters) -> Iterator[Conversation]:
    """The filtered conversations with messages and feedback, loaded a chunk at a time."""
    ids = list(session.scalars(filters.order(filters.apply(select(Conversation.id),
                                                           _dialect(session)))))
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = ids[start:start + EXPORT_CHUNK]
        loaded = {c.id: c for c in session.scalars(
            select(Conversation).where(Conversation.id.in_(chunk)).options(*_with_messages()))}
        for cid in chunk:
            if cid in loaded:
                yield loaded[cid]
        session.expunge_all()


def transcript_record(conversation: Conversation, text_only: bool = False) -> dict:
    """One conversation in the transcript format the training loaders read; `text_only` keeps
    the words and the accepted corrections and drops ids, times, model versions and ratings."""
    turns = []
    for message in conversation.messages:
        if message.superseded_by_id is not None:
            continue
        turn = {"role": message.role, "text": message.text}
        if message.role == "bot" and (correction := accepted_correction(message)):
            turn["correction"] = correction
        if message.feedback is not None and not text_only:
            turn["rating"] = 1 if message.feedback.rating > 0 else -1
        turns.append(turn)
    if text_only:
        return {"turns": turns}
    versions = sorted({m.model_version for m in conversation.messages
                       if m.model_version and m.superseded_by_id is None})
    return {"id": str(conversation.id),
            "created_at": conversation.created_at.astimezone(UTC).isoformat(),
            "model_versions": versions, "turns": turns}


def export_jsonl(session: Session, filters: Filters, text_only: bool = False) -> Iterator[str]:
    for conversation in _filtered(session, filters):
        record = transcript_record(conversation, text_only)
        yield json.dumps(record, ensure_ascii=False) + "\n"


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(session: Session, filters: Filters) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        out = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return out

    writer.writerow(CSV_COLUMNS)
    yield flush()
    reviews = {r.conversation_id: r for r in session.scalars(select(Review))}
    for conversation in _filtered(session, filters):
        review = reviews.get(conversation.id)
        flagged, tags = (int(review.flagged), review.tags) if review else (0, "")
        roles = {m.id: m.role for m in conversation.messages}
        for m in conversation.messages:
            feedback = m.feedback
            writer.writerow([_cell(v) for v in (
                conversation.id, conversation.created_at.isoformat(), m.id, m.role, m.text,
                m.created_at.isoformat(), m.model_version or "",
                "" if m.latency_ms is None else m.latency_ms,
                json.dumps(m.options, sort_keys=True) if m.options else "",
                feedback.rating if feedback else "", feedback.comment if feedback else "",
                *_confidence_cells(m.confidence), m.superseded_by_id or "", _change(m, roles),
                accepted_correction(m) or "", flagged, tags)])
        yield flush()

