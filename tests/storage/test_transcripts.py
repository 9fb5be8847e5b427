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


def test_the_inbox_and_the_csv_tell_an_edit_from_a_regenerate(session):
    import csv
    import io

    from chatbot.storage.search import Filters

    conversation = conversations.create(session, "v", "")
    asked = conversations.add_message(session, conversation, "helo", max_turns=10)[0]

    def answer(text, replaces=None):
        return conversations.add_reply(session, conversation, text, model_version="m", options={},
                                       latency_ms=1.0, explanation=None, replaces=replaces)

    first = answer("what?")
    answer("sorry?", replaces=first)  # regenerated once
    edited, _ = conversations.edit_last_message(session, asked, "hello")
    answer("hi!")
    row = next(r for r in transcripts.inbox(session, Filters(), 1).rows
               if r.conversation.id == conversation.id)
    assert (row.messages, row.regenerated, row.edited) == (2, 1, 1)
    only_edited = conversations.create(session, "v", "")
    typo = conversations.add_message(session, only_edited, "wat", max_turns=10)[0]
    conversations.add_reply(session, only_edited, "?", model_version="m", options={}, latency_ms=1.0,
                            explanation=None)
    conversations.edit_last_message(session, typo, "what")
    assert transcripts.inbox(session, Filters(regenerated=True), 1).total == 1  # edits are not regenerates
    rows = list(csv.DictReader(io.StringIO("".join(transcripts.export_csv(session, Filters())))))
    assert [(r["text"], r["change"]) for r in rows if r["conversation_id"] == str(conversation.id)] == [
        ("helo", "edited"), ("what?", "regenerated"), ("sorry?", "edited_reply"), ("hello", ""),
        ("hi!", "")]
    shown = transcripts.shown_with_versions(transcripts.transcript(session, conversation.id))
    (user, wordings, answered), (bot, older, _) = shown
    assert (user.text, [w.text for w in wordings]) == ("hello", ["helo"])
    assert [r.text for r in answered[wordings[0].id]] == ["what?", "sorry?"]
    assert (bot.text, older) == ("hi!", [])
    # the JSONL for retraining has the turns as the visitor sees them now
    assert transcripts.transcript_record(transcripts.transcript(session, conversation.id))["turns"] == [
        {"role": "user", "text": "hello"}, {"role": "bot", "text": "hi!"}]


def test_a_queued_suggestion_comes_with_the_two_turns_before_and_the_thumbs_down(session):
    conversation = conversations.create(session, "v", "")
    for text, answer in [("hi", "hello"), ("do you cook?", "yes, pasta mostly")]:
        conversations.add_message(session, conversation, text, max_turns=10)
        conversations.add_reply(session, conversation, answer, model_version="m", options={},
                                latency_ms=1.0, explanation=None)
    conversations.add_message(session, conversation, "what is love?", max_turns=10)
    reply = conversations.add_reply(session, conversation, "a cat", model_version="m", options={},
                                    latency_ms=1.0, explanation=None)
    conversations.rate(session, reply, -1, "off topic")
    conversations.correct(session, reply, "a feeling")
    session.expire_all()  # as the reviewer's own request would read it
    item = transcripts.next_pending(session)
    assert [m.text for m in item.before] == ["do you cook?", "yes, pasta mostly"]
    assert [m.text for m in item.asked] == ["what is love?"]
    assert item.reply.feedback.comment == "off topic"
