"""The API's JSON shapes: rows to dicts on the way out, request bodies checked on the way in.

Validation failures raise `Invalid` (answered 422); a body that is not a JSON object is a 400.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import abort, current_app, request
from werkzeug.routing import IntegerConverter

from chatbot import confidence
from chatbot.storage.conversations import branches as conversation_branches
from chatbot.storage.conversations import version_chains
from chatbot.storage.db import Conversation, Correction, Feedback, Message

COMMENT_CHARS = 2000
MAX_ROW_ID = 2**63 - 1  # the largest id a BIGINT (and SQLite's INTEGER) can hold


class RowId(IntegerConverter):
    """`<int:...>` in every route: an id beyond any database integer becomes 0, which no row has
    (ids start at 1), so the view answers its usual 404 instead of the driver overflowing.
    (Refusing it in the converter would turn DELETE /x/<huge> into a 405, from the GET rule.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_ROW_ID else 0


class Invalid(ValueError):
    """A request value that is well-formed JSON but not acceptable (HTTP 422)."""


def int_arg(name: str, default: int, low: int = 0, high: int = MAX_ROW_ID) -> int:
    """A query-string integer clamped to [low, high] (the default when absent or not a number):
    a value past what a database integer holds would overflow the driver (a 500)."""
    value = request.args.get(name, default, type=int)
    return min(max(value, low), high)


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body counts as {}."""
    if not request.get_data(cache=True):
        return {}
    try:
        data = request.get_json(force=True, silent=True)
    except RecursionError:  # "[[[[..." nested deeper than the parser's stack
        data = None
    if not isinstance(data, dict):
        abort(400, description="the request body must be a JSON object")
    return data


def storable(value: str, name: str) -> str:
    """Refuse what no database keeps faithfully: NUL (PostgreSQL rejects it in text) and lone
    surrogates from JSON escapes (not encodable as UTF-8). Other control characters are kept."""
    if "\x00" in value:
        raise Invalid(f"{name} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{name} is not valid Unicode (a lone surrogate)") from None
    return value


def visible(text: str) -> bool:
    """Whether `text` shows anything: zero-width spaces, joiners and other format or control
    characters alone (categories Cf, Cc) would store a message nobody can see."""
    return any(not char.isspace() and unicodedata.category(char) not in ("Cf", "Cc")
               for char in text)


def message_text(value: Any, name: str = "text") -> str:
    """A message or a correction: a non-empty string within MAX_MESSAGE_CHARS once stripped."""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    text = storable(value, name).strip()
    if not visible(text):
        raise Invalid(f"{name} must not be empty")
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    if len(text) > limit:
        raise Invalid(f"{name} is {len(text)} characters long; the limit is {limit}")
    return text


def flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Invalid(f"{name} must be true or false")
    return value


def rating(value: Any) -> int:
    if isinstance(value, bool) or value not in (1, -1):
        raise Invalid("rating must be 1 (good) or -1 (bad)")
    return int(value)


def comment(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("comment must be a string")
    if len(value) > COMMENT_CHARS:
        raise Invalid(f"comment is longer than {COMMENT_CHARS} characters")
    return storable(value, "comment").strip()


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def conversation_json(conversation: Conversation, messages: list[Message] | None = None,
                      rows: Iterable[Message] | None = None) -> dict:
    """The conversation; with `messages` (current ones), each with its versions and branches
    found among `rows` (all of the conversation's messages, superseded ones too)."""
    data = {
        "id": conversation.id,
        "title": conversation.title,
        "created_at": _time(conversation.created_at),
        "updated_at": _time(conversation.updated_at),
    }
    if messages is not None:
        rows = list(rows or messages)
        chains, branches = version_chains(rows), conversation_branches(rows)
        data["messages"] = [message_json(m, chains.get(m.id), branches) for m in messages]
    return data


def confidence_json(mean_logp: float | None) -> dict:
    """One scale with the pages: the share (geometric mean probability of the pieces) and its
    level, `chatbot.confidence`; null for a reply stored before confidence was recorded."""
    if mean_logp is None:
        return {"confidence": None, "confidence_level": None}
    share = confidence.share(mean_logp)
    return {"confidence": round(share, 3), "confidence_level": confidence.level(share)}


def feedback_json(feedback: Feedback | None) -> dict | None:
    if feedback is None:
        return None
    return {"rating": feedback.rating, "comment": feedback.comment,
            "created_at": _time(feedback.created_at)}


def correction_json(correction: Correction) -> dict:
    return {"id": correction.id, "message_id": correction.message_id, "text": correction.text,
            "status": correction.status, "created_at": _time(correction.created_at)}


def message_json(message: Message, versions: list[Message] | None = None,
                 branches: dict[int, list[Message]] | None = None) -> dict:
    """A message with its `versions`, oldest first, itself last: a bot reply's are the replies a
    regenerate replaced, each with what its bubble shows (text, feedback, suggestions,
    confidence), so thumbs act on the version on screen; a visitor's are the wordings an edit
    replaced, each older one with the `replies` it got (from `branches`, by message id)."""
    data = _fields(message)
    chain = versions or [message]
    if message.role == "bot":
        data["versions"] = [_fields(v) for v in chain]
    else:
        data["versions"] = [{**_fields(v), "replies": [_fields(r) for r in (branches or {}).get(v.id, [])]}
                            if v is not message else _fields(v) for v in chain]
    return data


def _fields(message: Message) -> dict:
    data = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "role": message.role,
        "text": message.text,
        "created_at": _time(message.created_at),
    }
    if message.role == "user":
        data["support"] = message.support
    if message.role == "bot":
        data.update(
            model_version=message.model_version,
            options=message.options,
            latency_ms=message.latency_ms,
            has_explanation=message.explanation is not None,
            feedback=feedback_json(message.feedback),
            # The visitor's own suggestions only: a reviewer's text is the admin's, not theirs.
            corrections=[correction_json(c) for c in message.corrections if c.written_by is None],
            **confidence_json(message.confidence),
        )
    return data
