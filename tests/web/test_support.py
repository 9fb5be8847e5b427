"""The support layer in the chat: each visitor message classified and stored, a crisis answered
by the fixed message written by people (never the model), and the admin's filter."""

from __future__ import annotations

from sqlalchemy import select

from chatbot.storage.db import Message


def say(visitor, text, conversation_id=None):
    conversation_id = conversation_id or visitor.new_conversation()
    return conversation_id, visitor.post(f"/api/conversations/{conversation_id}/messages",
                                         {"text": text})


def test_a_crisis_gets_the_fixed_reply_even_without_a_model(app, visitor_for):
    visitor = visitor_for(app)  # `app` has no model: an ordinary message would get a 503
    _, response = say(visitor, "i want to kill myself")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["user"]["support"] == "crisis"
    reply = body["reply"]
    assert reply["model_version"] == "support" and "findahelpline.com" in reply["text"]
    assert "188" in reply["text"]
    ex = visitor.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
    assert ex["support"] == "crisis" and ex["summary"].startswith("Lembra did not write this reply")
    _, response = say(visitor, "hello there")
    assert response.status_code == 503  # the model really is missing


def test_a_portuguese_crisis_is_answered_in_portuguese(app, visitor_for):
    _, response = say(visitor_for(app), "não aguento mais viver, quero sumir pra sempre")
    text = response.get_json()["reply"]["text"]
    assert "CVV" in text and "Sinto muito" in text


def test_regenerating_a_crisis_reply_gives_the_fixed_one_again(app, visitor_for):
    visitor = visitor_for(app)
    conversation_id, response = say(visitor, "i've been thinking about ending it all")
    again = visitor.post(f"/api/conversations/{conversation_id}/reply", {})
    assert again.status_code == 201 and again.get_json()["reply"]["model_version"] == "support"
    assert again.get_json()["replaced"] == response.get_json()["reply"]["id"]


def test_sad_news_is_stored_as_sad_and_answered_by_the_model(chatter, model_app):
    _, response = say(chatter, "my dog died yesterday")
    body = response.get_json()
    assert body["user"]["support"] == "sad" and body["reply"]["model_version"] != "support"
    with model_app.app_context():
        session = model_app.extensions["lembra.db"]()
        stored = session.scalars(select(Message).where(Message.id == body["user"]["id"])).one()
        assert stored.support == "sad"
        session.close()


def test_an_edit_classifies_the_new_text(app, visitor_for):
    visitor = visitor_for(app)
    conversation_id, response = say(visitor, "i want to kill myself")
    user_id = response.get_json()["user"]["id"]
    edited = visitor.patch(f"/api/messages/{user_id}", {"text": "i want to hurt myself"})
    assert edited.status_code == 200 and edited.get_json()["user"]["support"] == "crisis"


def test_the_inbox_filters_by_support(app, visitor_for, admin_for):
    visitor = visitor_for(app)
    say(visitor, "my boyfriend hits me when he's drunk")
    say(visitor, "hello")  # 503 without a model, but the message is stored
    admin = admin_for(app)
    crisis = admin.get("/admin/?support=crisis").get_data(as_text=True)
    assert "my boyfriend hits me" in crisis and "hello" not in crisis
    everyone = admin.get("/admin/").get_data(as_text=True)
    assert "hello" in everyone
    odd = admin.get("/admin/?support=maybe").get_data(as_text=True)
    assert "is not sad or crisis, so it was ignored" in odd
