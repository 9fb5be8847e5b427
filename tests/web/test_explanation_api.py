"""GET /api/messages/<id>/explanation for people: words, the sentence in the visitor's language,
alternatives, confidence, LSTM units, and rerank candidates kept from the reply's search."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chatbot.storage.db import Message
from chatbot.web.explaining import summary_sentence


def stored(app, message_id):
    with app.app_context():
        session = app.extensions["lembra.db"]()
        message = session.scalars(select(Message).where(Message.id == message_id)).one()
        session.close()
        return message


def post(chatter, text, **body):
    conversation_id = chatter.new_conversation()
    response = chatter.post(f"/api/conversations/{conversation_id}/messages", {"text": text, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reply"]


def test_explanation_has_words_summary_alternatives_and_units(model_app, chatter):
    reply = post(chatter, "i love cooking pasta on sundays", options={"mode": "greedy"})
    body = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()
    ex = body["explanation"]
    assert body["exact"] is True
    assert [w["text"] for w in ex["words"]["context"]] == "i love cooking pasta on sundays".split()
    assert {w["turn"] for w in ex["words"]["context"]} == {"you"}
    assert " ".join(w["text"] for w in ex["words"]["reply"]) == reply["text"]
    assert ex["summary"].startswith("Lembra wrote “")
    first = ex["summary_data"]["answered"][0]
    assert f"“{first['reply']}” mostly from “{first['context']}”" in ex["summary"]
    assert len(ex["alternatives"]) == len(ex["reply"])
    assert 0 < ex["confidence"] <= 1
    assert set(ex["units"]) == {"forget", "input", "output", "steps"}
    # stored once, with the data but not the sentence (which follows the visitor's language)
    saved = stored(model_app, reply["id"]).explanation
    assert "words" in saved and "summary" not in saved
    assert chatter.get(f"/api/messages/{reply['id']}/explanation").get_json() == body


def test_the_sentence_follows_the_language(model_app, chatter):
    reply = post(chatter, "i love cooking pasta on sundays", options={"mode": "greedy"})
    chatter.client.set_cookie("lembra_lang", "pt")
    ex = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
    assert ex["summary"].startswith("Lembra escreveu “")
    assert "sobretudo a partir de" in ex["summary"]


def test_rerank_candidates_survive_the_full_explanation(model_app, chatter):
    reply = post(chatter, "do you like music?", explain=True, options={"mode": "rerank"})
    light = stored(model_app, reply["id"]).explanation
    assert "words" not in light and light["candidates"]
    ex = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
    assert ex["candidates"] == light["candidates"]
    assert [c["text"] for c in ex["candidates"] if c["chosen"]] == [reply["text"]]
    assert "words" in stored(model_app, reply["id"]).explanation


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Lembra wrote “pasta” mostly from “cooking” (41%), and “love” from “i” (20%); "
           "it barely used “sundays” (1%). It could not see 3 words at the start of the "
           "conversation."),
    ("pt", "Lembra escreveu “pasta” sobretudo a partir de “cooking” (41%), e “love” a partir de "
           "“i” (20%); quase não usou “sundays” (1%). Não conseguiu ver 3 palavras do início da "
           "conversa."),
])
def test_summary_sentence(app, language, expected):
    data = {"answered": [{"reply": "pasta", "context": "cooking", "share": 0.41},
                         {"reply": "love", "context": "i", "share": 0.2}],
            "barely": {"context": "sundays", "share": 0.012}, "unseen_words": 3}
    with app.test_request_context(headers={"Accept-Language": language}):
        assert summary_sentence(data) == expected
        assert summary_sentence({"answered": [], "barely": None}).endswith(".")


def test_admin_gets_the_same_explanation(model_app, chatter, admin_for):
    reply = post(chatter, "i love cooking pasta on sundays", options={"mode": "greedy"})
    url = f"/admin/messages/{reply['id']}/explanation"
    assert model_app.test_client().get(url).status_code in (302, 401)  # signed-in admins only
    admin = admin_for(model_app)
    body = admin.get(url).get_json()
    assert body["exact"] is True and body["explanation"]["summary"].startswith("Lembra wrote")
    visitors = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()
    assert body["explanation"] == visitors["explanation"]
    assert admin.get(f"/admin/messages/{reply['id'] - 1}/explanation").status_code == 404  # the user's
    assert admin.get("/admin/messages/99999/explanation").status_code == 404
