"""How stored turns become the model's context, and the order of the database transactions."""

from __future__ import annotations

from sqlalchemy import event

from chatbot.web.replies import history_turns


def test_history_alternates_and_ends_with_the_user():
    turns = [("user", "hi"), ("bot", "hello"), ("user", "how are you?")]
    assert history_turns(turns) == ["hi", "hello", "how are you?"]


def test_unanswered_user_messages_are_joined():
    turns = [("user", "hi"), ("user", "anyone there?"), ("bot", "yes"), ("user", "good")]
    assert history_turns(turns) == ["hi\nanyone there?", "yes", "good"]


def test_empty_history():
    assert history_turns([]) == []


def test_user_message_and_reply_are_separate_transactions(model_app, chatter):
    """The user's turn is committed before the model runs, the reply in a second transaction."""
    conversation_id = chatter.new_conversation()
    engine = model_app.extensions["lembra.db"].kw["bind"]
    log: list[str] = []
    event.listen(engine, "begin", lambda conn: log.append("begin"))
    event.listen(engine, "commit", lambda conn: log.append("commit"))
    response = chatter.post(f"/api/conversations/{conversation_id}/messages", {"text": "hello"})
    assert response.status_code == 201
    assert log == ["begin", "commit", "begin", "commit"]
