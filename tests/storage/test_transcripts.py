"""The admin's transcript queries without Flask: reviewing a suggestion."""

from __future__ import annotations

from sqlalchemy import select

from chatbot.storage import conversations, transcripts
from chatbot.storage.db import Correction


def _reply_with_suggestion(session):
    conversation = conversations.create(session, "v", "")
    conversations.add_message(session, conversation, "what is love?", max_turns=10)
    reply = conversations.add_reply(session, conversation, "a cat", model_version="m",
                                    options={}, latency_ms=1.0, explanation=None)
    suggestion = conversations.correct(session, reply, "a feeling")
    return reply, suggestion


def test_accepting_the_same_edited_suggestion_twice_keeps_one_written_row(session):
    reply, suggestion = _reply_with_suggestion(session)
    for _ in range(2):
        transcripts.review_correction(session, suggestion.id, "root", "accepted",
                                      edited="a strong feeling")
    rows = session.scalars(select(Correction).where(Correction.message_id == reply.id)
                           .order_by(Correction.id)).all()
    assert [(c.text, c.written_by) for c in rows] == [("a feeling", None),
                                                      ("a strong feeling", "root")]
