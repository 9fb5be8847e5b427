"""A visitor's conversations: the queries behind the chat API.

Every lookup is scoped to the visitor's id, so another visitor's conversation is `None` exactly
like a missing one. Adding a message commits the user's turn before the caller runs the model,
so a slow reply never holds a database transaction open; the reply is a second transaction.
`Refused` carries the sentence the visitor sees when a request cannot be done.
A regenerated reply is kept with `superseded_by_id` set (the admin's evidence); every query here
that a visitor or the model sees skips such rows (`CURRENT`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from chatbot.storage.db import (
    CURRENT,
    TITLE_CHARS,
    Conversation,
    Correction,
    Feedback,
    Message,
    erase_traces,
    utcnow,
)

MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL; a larger one cannot exist
MAX_VERSIONS = 20  # answers kept for one turn (regenerates and edits): each holds an explanation


class Refused(ValueError):
    """The request is well-formed but this conversation or message cannot take it."""


def title_from(text: str) -> str:
    """The first line of the first message, cut at a word near TITLE_CHARS."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[: TITLE_CHARS - 1].rsplit(" ", 1)[0]
    return cut + "…"


# -- lookups ------------------------------------------------------------------------------------


def owned_conversation(session: Session, visitor_id: str, conversation_id: int) -> Conversation | None:
    if conversation_id > MAX_ID:
        return None
    return session.scalar(select(Conversation).where(
        Conversation.id == conversation_id, Conversation.visitor_id == visitor_id))


def owned_message(session: Session, visitor_id: str, message_id: int) -> Message | None:
    if message_id > MAX_ID:
        return None
    return session.scalar(select(Message).join(Conversation).where(
        Message.id == message_id, Conversation.visitor_id == visitor_id))


def search(session: Session, visitor_id: str, query: str, limit: int) -> list[Conversation]:
    """The visitor's conversations whose title or any message contains `query`, newest first."""
    found = select(Conversation).where(Conversation.visitor_id == visitor_id)
    query = query.lower()
    if query:
        in_messages = exists().where(Message.conversation_id == Conversation.id, CURRENT,
                                     func.lower(Message.text).contains(query, autoescape=True))
        found = found.where(or_(func.lower(Conversation.title).contains(query, autoescape=True),
                                in_messages))
    return list(session.scalars(
        found.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit)))


SNIPPET_CHARS = 60


def snippets(session: Session, conversation_ids: list[int], query: str) -> dict[int, str]:
    """Conversation id -> a piece of its first message containing `query`, cut to about
    SNIPPET_CHARS around the match, for search results (none where only the title matched)."""
    query = query.lower()
    if not query or not conversation_ids:
        return {}
    rows = session.execute(select(Message.conversation_id, Message.text).where(
        Message.conversation_id.in_(conversation_ids), CURRENT,
        func.lower(Message.text).contains(query, autoescape=True)).order_by(Message.id))
    out: dict[int, str] = {}
    for conversation_id, text in rows:
        if conversation_id not in out:
            out[conversation_id] = snippet(text, query)
    return out


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """The words of `text` around the first `query`, with "…" where it was cut."""
    line = " ".join(text.split())
    at = line.lower().find(query.lower())
    if len(line) <= width or at < 0:
        return line if len(line) <= width else line[: width - 1].rsplit(" ", 1)[0] + "…"
    start = max(0, at - (width - len(query)) // 2)
    end = min(len(line), start + width)
    start = max(0, end - width)
    if start > 0:  # begin at a word
        start = line.find(" ", start, at) + 1 or start
    if end < len(line):  # end at a word
        end = line.rfind(" ", at + len(query), end) if line.rfind(" ", at + len(query), end) > 0 else end
    return ("…" if start > 0 else "") + line[start:end].strip() + ("…" if end < len(line) else "")


def messages(session: Session, conversation: Conversation) -> list[Message]:
    """The conversation's current messages, oldest first, with their feedback and corrections."""
    return list(session.scalars(
        select(Message).where(Message.conversation_id == conversation.id, CURRENT)
        .options(selectinload(Message.feedback), selectinload(Message.corrections))
        .order_by(Message.id)))


def version_chains(rows: Iterable[Message]) -> dict[int, list[Message]]:
    """Each current message's id -> its versions, oldest first, itself last (one when it was
    never regenerated or edited); `rows` are all of a conversation's messages, superseded ones
    included. A reply superseded by a visitor's message is the end of an edited branch, not a
    version of any reply."""
    rows = sorted(rows, key=lambda m: m.id)
    roles = {m.id: m.role for m in rows}
    replaced = {m.superseded_by_id: m for m in rows
                if m.superseded_by_id is not None and roles.get(m.superseded_by_id) == m.role}
    chains = {}
    for message in rows:
        if message.superseded_by_id is None:
            chain = [message]
            while chain[0].id in replaced:
                chain.insert(0, replaced[chain[0].id])
            chains[message.id] = chain
    return chains


def versions(session: Session, conversation_id: int) -> dict[int, list[Message]]:
    """`version_chains` of the conversation's bot replies, in one query."""
    return version_chains(session.scalars(select(Message).where(
        Message.conversation_id == conversation_id, Message.role == "bot")))


def all_messages(session: Session, conversation_id: int) -> list[Message]:
    """Every message of the conversation, superseded ones too (replaced replies, older wordings
    of an edited message), oldest first, with their feedback and corrections."""
    return list(session.scalars(
        select(Message).where(Message.conversation_id == conversation_id)
        .options(selectinload(Message.feedback), selectinload(Message.corrections))
        .order_by(Message.id)))


def branches(rows: Iterable[Message]) -> dict[int, list[Message]]:
    """Each visitor message's id -> the replies that answered it, oldest first: an edit starts a
    new branch, and the replies of the older wording stay with it. `rows` are all of a
    conversation's messages."""
    out: dict[int, list[Message]] = {}
    asked = None
    for message in sorted(rows, key=lambda m: m.id):
        if message.role == "user":
            asked = message.id
            out[asked] = []
        elif asked is not None:
            out[asked].append(message)
    return out


def version_texts(session: Session, reply: Message) -> list[str]:
    """Every text the bot has given in `reply`'s place, so a regenerate can avoid them all (the
    read transaction ends here, before the model runs)."""
    texts = [m.text for m in versions(session, reply.conversation_id).get(reply.id, [reply])]
    session.commit()
    return texts


def current(rows: Iterable[Message]) -> list[Message]:
    """The messages of `rows` a visitor sees: those no regenerated reply replaced."""
    return [m for m in rows if m.superseded_by_id is None]


def export(session: Session, visitor_id: str) -> list[Conversation]:
    """Every conversation of the visitor, oldest first, with all messages (superseded ones too:
    the caller keeps `current` ones and their `version_chains`), feedback and corrections."""
    loaded = selectinload(Conversation.messages)
    return list(session.scalars(
        select(Conversation).where(Conversation.visitor_id == visitor_id)
        .options(loaded.selectinload(Message.feedback), loaded.selectinload(Message.corrections))
        .order_by(Conversation.created_at)))


# -- history for the model ----------------------------------------------------------------------


def turns(session: Session, conversation_id: int, before_id: int | None = None) -> list[tuple[str, str]]:
    """(role, text) of the stored messages, oldest first; only those before `before_id` if given."""
    query = select(Message.role, Message.text).where(Message.conversation_id == conversation_id,
                                                      CURRENT)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    return [tuple(row) for row in session.execute(query.order_by(Message.id))]


def history_turns(turns: Iterable[tuple[str, str]]) -> list[str]:
    """(role, text) pairs, oldest first, as alternating turns ending with the user's.

    A user message whose reply failed is followed by the user's next message; the two are joined
    so the model still sees turns that alternate.
    """
    merged: list[tuple[str, str]] = []
    for role, text in turns:
        if merged and merged[-1][0] == role:
            merged[-1] = (role, merged[-1][1] + "\n" + text)
        else:
            merged.append((role, text))
    return [text for _, text in merged]


def history_before(session: Session, message: Message) -> list[str]:
    """The turns the model saw when it wrote `message`: the current turns before it, with the
    visitor's message it answered last (an older wording, for a reply of an edited branch); the
    read transaction is ended, so the model can run next without holding it."""
    asked = session.scalar(select(Message).where(
        Message.conversation_id == message.conversation_id, Message.role == "user",
        Message.id < message.id).order_by(Message.id.desc()).limit(1))
    if asked is None or asked.superseded_by_id is None:
        stored = turns(session, message.conversation_id, message.id)
    else:
        stored = [*turns(session, message.conversation_id, asked.id), ("user", asked.text)]
    history = history_turns(stored)
    session.commit()
    return history


def refuse_another_version(session: Session, conversation: Conversation) -> None:
    """Refused when the last turn already has MAX_VERSIONS answers, over all its wordings: each
    is stored with its explanation, and a loop of regenerates or edits would grow the
    conversation without end."""
    chains = version_chains(all_messages(session, conversation.id))
    asked = max((m for chain in chains.values() for m in chain[-1:] if m.role == "user"),
                key=lambda m: m.id, default=None)
    if asked is not None:
        first = chains[asked.id][0].id
        answers = session.scalar(select(func.count()).where(
            Message.conversation_id == conversation.id, Message.role == "bot", Message.id > first))
        if answers + len(chains[asked.id]) - 1 >= MAX_VERSIONS:  # edits that got no answer count too
            session.commit()
            raise Refused(f"this reply already has {MAX_VERSIONS} versions; send a new message")
    session.commit()


def history_to_answer_again(session: Session, conversation: Conversation) -> tuple[list[str], Message | None]:
    """The turns for a new answer to the last user message, and the bot reply that answer
    replaces (None when the last message is the user's, after a failed reply)."""
    last = session.scalar(select(Message).where(Message.conversation_id == conversation.id, CURRENT)
                          .order_by(Message.id.desc()).limit(1))
    if last is None:
        raise Refused("there is no message to reply to")
    replaced = last if last.role == "bot" else None
    history = history_turns(turns(session, conversation.id, replaced.id if replaced else None))
    session.commit()  # end the read transaction before the model runs
    return history, replaced


# -- writes -------------------------------------------------------------------------------------


def create(session: Session, visitor_id: str, title: str) -> Conversation:
    conversation = Conversation(visitor_id=visitor_id, title=title_from(title))
    session.add(conversation)
    session.commit()
    return conversation


def delete(session: Session, conversation: Conversation) -> None:
    """Delete the conversation with its messages, feedback and corrections, for good."""
    session.delete(conversation)
    session.commit()
    erase_traces(session)


def add_message(session: Session, conversation: Conversation, text: str,
                max_turns: int, support: str | None = None) -> tuple[Message, list[str]]:
    """Store the user's message (committed) with its support class, and return it with the
    turns the model answers."""
    stored = turns(session, conversation.id)  # every stored message: their number is the turn count
    if len(stored) >= max_turns:
        raise Refused("this conversation is full; start a new one")
    message = Message(conversation_id=conversation.id, role="user", text=text, support=support)
    if not conversation.title:
        conversation.title = title_from(text)
    conversation.updated_at = utcnow()
    session.add(message)
    session.commit()
    return message, history_turns([*stored, ("user", text)])


def add_reply(session: Session, conversation: Conversation, text: str, *, model_version: str,
              options: dict[str, Any], latency_ms: float, explanation: dict | None,
              confidence: float | None = None, replaces: Message | None = None) -> Message:
    """Store the bot's reply (committed); the reply it `replaces` is kept, marked superseded by
    this one in the same transaction, with its feedback and corrections.

    A turn has one current reply, however many answers to it run at once (parallel edits or
    regenerates): the conversation's row is updated first, which serialises the writers (a row
    lock on PostgreSQL, the write lock on SQLite), and every other current reply after the last
    user message is then superseded by this one, so the last answer stored is the one shown.
    """
    session.execute(update(Conversation).where(Conversation.id == conversation.id)
                    .values(updated_at=utcnow()))
    message = Message(conversation_id=conversation.id, role="bot", text=text,
                      model_version=model_version, options=options,
                      latency_ms=round(latency_ms, 1), explanation=explanation,
                      confidence=None if confidence is None else round(confidence, 4),
                      feedback=None, corrections=[])
    session.add(message)
    session.flush()  # the new row's id
    last_user = (select(func.max(Message.id))
                 .where(Message.conversation_id == conversation.id, Message.role == "user")
                 .scalar_subquery())
    answered = session.scalars(select(Message).where(
        Message.conversation_id == conversation.id, Message.role == "bot", CURRENT,
        Message.id != message.id, Message.id > func.coalesce(last_user, 0)))
    for earlier in answered:
        earlier.superseded_by_id = message.id
    session.commit()
    return message


def rate(session: Session, message: Message, rating: int, comment: str) -> Feedback:
    """Rate a bot reply; rating again replaces the rating."""
    feedback = session.get(Feedback, message.id) or Feedback(message_id=message.id)
    feedback.rating, feedback.comment, feedback.created_at = rating, comment, utcnow()
    session.add(feedback)
    session.commit()
    return feedback


def unrate(session: Session, message: Message) -> None:
    feedback = session.get(Feedback, message.id)
    if feedback is not None:
        session.delete(feedback)
        session.commit()


def correct(session: Session, message: Message, text: str) -> Correction:
    """A better answer to a bot reply, pending until an admin accepts or rejects it."""
    correction = Correction(message_id=message.id, text=text, status="pending")
    session.add(correction)
    session.commit()
    return correction


def store_explanation(session: Session, message: Message, explanation: dict) -> None:
    message.explanation = explanation
    session.commit()


def rename(session: Session, conversation: Conversation, title: str) -> None:
    """Give the conversation the visitor's own title, cut like one taken from a message."""
    conversation.title = title_from(title)
    session.commit()


def edit_last_message(session: Session, message: Message, text: str,
                      support: str | None = None) -> tuple[Message, Message | None]:
    """Store the visitor's new wording of their last message as a new message (committed), to be
    answered next, and return it with the reply of the old wording that it hides (or None).

    Edits are branches: the old message and its replies are kept, superseded by the new message,
    so the visitor can page back to them, each reply stays explained against the words it
    answered, and the admin sees the edit apart from a regenerate. A title that came from the
    message follows it. Any other message is `Refused`.
    """
    # The conversation's row first: it serialises this edit with other edits and answers.
    session.execute(update(Conversation).where(Conversation.id == message.conversation_id)
                    .values(updated_at=utcnow()))
    session.refresh(message)
    while message.role == "user" and message.superseded_by_id is not None:
        newer = session.get(Message, message.superseded_by_id)  # a stale tab's older wording
        if newer is None or newer.role != "user":
            break
        message = newer
    last = session.scalar(select(func.max(Message.id)).where(
        Message.conversation_id == message.conversation_id, Message.role == "user"))
    if message.role != "user" or message.id != last:
        session.rollback()
        raise Refused("only your last message can be edited")
    conversation = message.conversation
    if conversation.title == title_from(message.text):
        conversation.title = title_from(text)
    edited = Message(conversation_id=conversation.id, role="user", text=text, support=support)
    session.add(edited)
    session.flush()  # the new row's id
    message.superseded_by_id = edited.id
    hidden = None
    for reply in session.scalars(select(Message).where(
            Message.conversation_id == conversation.id, Message.role == "bot", CURRENT,
            Message.id > message.id, Message.id < edited.id)):
        reply.superseded_by_id, hidden = edited.id, reply
    conversation.updated_at = utcnow()
    session.commit()
    return edited, hidden
