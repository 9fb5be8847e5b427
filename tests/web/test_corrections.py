"""Corrections: a visitor suggests a better answer to a reply, an admin accepts or rejects it,
and only accepted ones reach the JSONL export (as the bot turn's "correction") and training.
Also the export's text-only form, deleted conversations never exported, and purge's ages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from chatbot.storage.db import Conversation, Correction, Message
from chatbot.web.database import get_session, parse_age
from train.corpora import load_transcripts


def chat(visitor, text: str = "hello") -> tuple[int, dict]:
    conversation = visitor.new_conversation()
    response = visitor.post(f"/api/conversations/{conversation}/messages", {"text": text})
    assert response.status_code == 201, response.get_json()
    return conversation, response.get_json()


def suggest(visitor, message_id: int, text: str):
    return visitor.post(f"/api/messages/{message_id}/correction", {"text": text})


def export(admin, query: str = "") -> list[dict]:
    body = admin.get(f"/admin/export.jsonl{query}").get_data(as_text=True)
    return [json.loads(line) for line in body.splitlines() if line]


def test_a_correction_is_stored_beside_the_reply(chatter):
    conversation, posted = chat(chatter)
    reply = posted["reply"]
    assert reply["corrections"] == []
    response = suggest(chatter, reply["id"], "  Hi! Nice to meet you.  ")
    assert response.status_code == 201
    body = response.get_json()
    assert body["text"] == "Hi! Nice to meet you." and body["status"] == "pending"
    assert body["message_id"] == reply["id"]
    messages = chatter.get(f"/api/conversations/{conversation}").get_json()["messages"]
    assert [c["text"] for c in messages[1]["corrections"]] == ["Hi! Nice to meet you."]
    assert "corrections" not in messages[0]


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   "}, {"text": 5}, {},
                                  {"text": "x" * 2001}, {"text": "a\x00b"}])
def test_invalid_corrections_are_422(chatter, body):
    _, posted = chat(chatter)
    response = chatter.post(f"/api/messages/{posted['reply']['id']}/correction", body)
    assert response.status_code == 422, response.get_json()


def test_only_the_bots_replies_and_only_ones_own(chatter, model_app, visitor_for):
    _, posted = chat(chatter)
    assert suggest(chatter, posted["user"]["id"], "better").status_code == 422
    stranger = visitor_for(model_app)
    assert suggest(stranger, posted["reply"]["id"], "better").status_code == 404
    assert suggest(chatter, 999999, "better").status_code == 404
    assert suggest(chatter, 2**40, "better").status_code == 404
    # The page's token is required like on every other POST.
    response = chatter.client.post(f"/api/messages/{posted['reply']['id']}/correction",
                                   json={"text": "better"})
    assert response.status_code == 403


def test_admin_accepts_or_rejects_and_the_export_follows(chatter, model_app, admin_for, tmp_path):
    conversation, posted = chat(chatter, "how are you?")
    reply_id = posted["reply"]["id"]
    first = suggest(chatter, reply_id, "I am fine, thanks!").get_json()
    second = suggest(chatter, reply_id, "Great, and you?").get_json()
    admin = admin_for(model_app)

    page = admin.get(f"/admin/transcripts/{conversation}").get_data(as_text=True)
    assert "I am fine, thanks!" in page and "Great, and you?" in page
    assert f"/admin/corrections/{first['id']}/accept" in page
    # Pending corrections are not training targets.
    assert "correction" not in export(admin)[0]["turns"][1]

    # Without the form's token nothing changes.
    refused = admin.client.post(f"/admin/corrections/{first['id']}/accept")
    assert refused.status_code == 403
    response = admin.post(f"/admin/corrections/{first['id']}/accept")
    assert response.status_code == 302 and response.location.endswith(f"#m{reply_id}")
    assert admin.post(f"/admin/corrections/{second['id']}/reject").status_code == 302
    assert admin.post("/admin/corrections/999999/accept").status_code == 404
    assert admin.post(f"/admin/corrections/{first['id']}/delete").status_code == 404

    record = export(admin)[0]
    bot_turn = record["turns"][1]
    assert bot_turn["role"] == "bot" and bot_turn["correction"] == "I am fine, thanks!"
    assert bot_turn["text"] == posted["reply"]["text"]
    with model_app.app_context():
        stored = get_session().get(Correction, first["id"])
        assert stored.status == "accepted" and stored.reviewed_by == admin.NAME
        assert stored.reviewed_at is not None
        assert get_session().get(Correction, second["id"]).status == "rejected"

    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(record) + "\n")
    [loaded] = load_transcripts(path)
    assert loaded.turns[1].text == "I am fine, thanks!"

    # Reopening takes it out of training again.
    assert admin.post(f"/admin/corrections/{first['id']}/reopen").status_code == 302
    assert "correction" not in export(admin)[0]["turns"][1]


def test_the_text_only_export_keeps_words_and_accepted_corrections(chatter, model_app,
                                                                   admin_for, tmp_path):
    _, posted = chat(chatter, "tell me a joke")
    reply_id = posted["reply"]["id"]
    assert chatter.post(f"/api/messages/{reply_id}/feedback", {"rating": 1}).status_code == 200
    correction = suggest(chatter, reply_id, "Why did the chicken cross the road?").get_json()
    admin = admin_for(model_app)
    admin.post(f"/admin/corrections/{correction['id']}/accept")

    full = export(admin)[0]
    assert {"id", "created_at", "model_versions"} <= set(full)
    assert full["turns"][1]["rating"] == 1
    [record] = export(admin, "?text_only=1")
    assert record == {"turns": [
        {"role": "user", "text": "tell me a joke"},
        {"role": "bot", "text": posted["reply"]["text"],
         "correction": "Why did the chicken cross the road?"}]}
    page = admin.get("/admin/").get_data(as_text=True)
    assert "/admin/export.jsonl?text_only=1" in page

    path = tmp_path / "text-only.jsonl"
    path.write_text(json.dumps(record) + "\n")
    [loaded] = load_transcripts(path)
    assert [t.text for t in loaded.turns] == ["tell me a joke",
                                             "Why did the chicken cross the road?"]


def test_deleted_conversations_and_their_corrections_never_reach_the_export(
        chatter, model_app, admin_for):
    kept, _ = chat(chatter, "keep me")
    gone, posted = chat(chatter, "forget me")
    correction = suggest(chatter, posted["reply"]["id"], "secret words").get_json()
    admin = admin_for(model_app)
    admin.post(f"/admin/corrections/{correction['id']}/accept")
    assert chatter.delete(f"/api/conversations/{gone}").status_code == 204

    body = admin.get("/admin/export.jsonl").get_data(as_text=True)
    assert "forget me" not in body and "secret words" not in body and "keep me" in body
    assert "forget me" not in admin.get("/admin/export.jsonl?text_only=1").get_data(as_text=True)
    with model_app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Correction)) == 0
        assert session.get(Conversation, gone) is None


@pytest.mark.parametrize("value, expected", [
    ("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2)),
    (" 7D ", timedelta(days=7)), ("0d", timedelta(0))])
def test_ages(value, expected):
    assert parse_age(value) == expected


@pytest.mark.parametrize("value", ["30", "d", "-1d", "1.5d", "3m", "30 days", ""])
def test_bad_ages_are_refused(value):
    with pytest.raises(ValueError, match="30d, 12h or 2w"):
        parse_age(value)


def _seed_ages(app) -> None:
    with app.app_context():
        session = app.extensions["lembra.db"]()
        now = datetime.now(UTC)
        for title, age in (("month", timedelta(days=40)), ("day", timedelta(hours=30)),
                           ("fresh", timedelta(minutes=5))):
            when = now - age
            conversation = Conversation(visitor_id="v", title=title, created_at=when,
                                        updated_at=when)
            conversation.messages = [Message(role="user", text=title)]
            session.add(conversation)
        session.commit()
        session.close()


def _titles(app) -> list[str]:
    with app.app_context():
        session = app.extensions["lembra.db"]()
        titles = sorted(session.scalars(select(Conversation.title)))
        session.close()
    return titles


def test_purge_older_than(make_app):
    app = make_app()
    _seed_ages(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["purge", "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 conversation(s) idle for more than 30 days" in result.output
    assert _titles(app) == ["day", "fresh"]
    result = runner.invoke(args=["purge", "--older-than", "12h"])
    assert result.exit_code == 0 and "12 hours" in result.output
    assert _titles(app) == ["fresh"]


@pytest.mark.parametrize("args, message", [
    (["--older-than", "soon"], "'soon' is not an age like 30d, 12h or 2w"),
    ([], "Missing option '--older-than'"),
    (["--older-than-days", "3"], "No such option '--older-than-days'"),
])
def test_purge_refuses_bad_ages(make_app, args, message):
    app = make_app()
    result = app.test_cli_runner().invoke(args=["purge", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_the_visitor_sees_only_their_own_suggestions(session):
    from chatbot.storage import transcripts
    from chatbot.web import schema
    from tests.storage.test_transcripts import _reply_with_suggestion

    reply, suggestion = _reply_with_suggestion(session)
    transcripts.review_correction(session, suggestion.id, "root", "accepted", edited="a feeling!")
    transcripts.write_correction(session, reply, "root", "love is a feeling")
    session.refresh(reply)
    shown = schema.message_json(reply)["corrections"]
    assert [c["text"] for c in shown] == ["a feeling"]
