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
    answered = ex["summary_data"]["answered"]
    if answered:
        first = answered[0]
        assert ex["summary"].startswith(f"While writing “{first['reply']}”, Lembra looked most "
                                        f"at “{first['context']}”")
    else:
        assert ex["summary"].startswith("Lembra's attention did not settle")
    assert " used" not in ex["summary"]  # attention is looking, not using
    assert len(ex["alternatives"]) == len(ex["reply"])
    # the scale of the message itself (the search's record), the one the admin's pages show
    assert ex["confidence"] == reply["confidence"] and ex["confidence_level"] == reply["confidence_level"]
    assert set(ex["units"]) == {"forget", "input", "output", "steps"}
    # stored once, with the data but not the sentence (which follows the visitor's language)
    saved = stored(model_app, reply["id"]).explanation
    assert "words" in saved and "summary" not in saved
    assert chatter.get(f"/api/messages/{reply['id']}/explanation").get_json() == body


def test_the_sentence_follows_the_language(model_app, chatter):
    reply = post(chatter, "i love cooking pasta on sundays", options={"mode": "greedy"})
    chatter.client.set_cookie("lembra_lang", "pt")
    ex = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
    assert ex["summary"].startswith(("Ao escrever “", "A atenção da Lembra"))


def test_rerank_candidates_survive_the_full_explanation(model_app, chatter):
    reply = post(chatter, "do you like music?", explain=True, options={"mode": "rerank"})
    light = stored(model_app, reply["id"]).explanation
    assert "words" not in light and light["candidates"]
    ex = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
    assert ex["candidates"] == light["candidates"]
    assert [c["text"] for c in ex["candidates"] if c["chosen"]] == [reply["text"]]
    assert "words" in stored(model_app, reply["id"]).explanation


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "While writing “pasta”, Lembra looked most at “cooking” (41% of its attention), and "
           "while writing “love”, at “dinner” (20%); of your last message it looked least at "
           "“sundays” (1% of its attention, on average). It could not see 3 words at the start "
           "of the conversation."),
    ("pt", "Ao escrever “pasta”, a Lembra olhou sobretudo para “cooking” (41% da sua atenção), "
           "e ao escrever “love”, para “dinner” (20%); da sua última mensagem, olhou menos para "
           "“sundays” (1% da sua atenção, em média). Não conseguiu ver 3 palavras do início da "
           "conversa."),
])
def test_summary_sentence(app, language, expected):
    data = {"answered": [{"reply": "pasta", "context": "cooking", "share": 0.41},
                         {"reply": "love", "context": "dinner", "share": 0.2}],
            "barely": {"context": "sundays", "share": 0.012}, "unseen_words": 3}
    with app.test_request_context(headers={"Accept-Language": language}):
        assert summary_sentence(data) == expected
        assert summary_sentence({"answered": [], "barely": None}).endswith(".")


def test_the_explanation_says_whether_the_words_were_drawn_at_random(chatter):
    greedy = post(chatter, "do you like music?", options={"mode": "greedy"})
    sampled = post(chatter, "do you like music?", options={"mode": "sample", "seed": 3})
    for reply, drawn in ((greedy, False), (sampled, True)):
        ex = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
        assert ex["sampled"] is drawn


def test_a_long_word_or_url_is_cut_in_the_sentence(app):
    url = "https://example.com/a/very/long/path/to/a/recipe"
    data = {"answered": [{"reply": "recipe", "context": url, "share": 0.5}], "barely": None}
    with app.test_request_context():
        sentence = summary_sentence(data)
    assert "“https://example.com/a/v…”" in sentence and url not in sentence


def test_admin_gets_the_same_explanation(model_app, chatter, admin_for):
    reply = post(chatter, "i love cooking pasta on sundays", options={"mode": "greedy"})
    url = f"/admin/messages/{reply['id']}/explanation"
    assert model_app.test_client().get(url).status_code in (302, 401)  # signed-in admins only
    admin = admin_for(model_app)
    body = admin.get(url).get_json()
    assert body["exact"] is True and body["explanation"]["summary"].startswith(("While", "Lembra"))
    visitors = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()
    assert body["explanation"] == visitors["explanation"]
    assert admin.get(f"/admin/messages/{reply['id'] - 1}/explanation").status_code == 404  # the user's
    assert admin.get("/admin/messages/99999/explanation").status_code == 404


@pytest.fixture(scope="module")
def refiner(refine_bundle):
    from chatbot.bot import Bot

    return Bot.load(refine_bundle)


def test_a_refined_reply_is_explained_with_the_example_it_was_written_from(make_app, refiner,
                                                                           visitor_for):
    app = make_app(BOT=refiner)
    chatter = visitor_for(app)
    reply = post(chatter, "do you like to cook?", options={"mode": "rerank", "seed": 3})
    record = stored(app, reply["id"]).explanation
    assert record["written_from"] in refiner.memory.texts and "borrowed" not in record
    ex = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
    assert ex["example"]["text"] == record["written_from"]
    assert len(ex["origins"]) == len(ex["words"]["reply"])


def test_a_borrowed_reply_says_so(make_app, refiner, visitor_for):
    import dataclasses

    saved = refiner.weights
    refiner.weights = dataclasses.replace(saved, borrow_margin=-10.0)  # any retrieved reply wins
    try:
        app = make_app(BOT=refiner)
        chatter = visitor_for(app)
        reply = post(chatter, "do you like to cook?", options={"mode": "rerank", "borrow": True})
    finally:
        refiner.weights = saved
    assert reply["text"] == refiner.retrieve(["do you like to cook?"], 1)[0]["text"]
    assert stored(app, reply["id"]).explanation["borrowed"] is True
    ex = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
    assert ex["summary"].startswith("Lembra did not write this reply")
    chatter.client.set_cookie("lembra_lang", "pt")
    ex = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()["explanation"]
    assert ex["summary"].startswith("A Lembra não escreveu esta resposta")


@pytest.mark.parametrize(("copied", "expected"), [
    ([{"reply": "hiking", "from": "example"}, {"reply": "sister", "from": "you"}],
     "It took “hiking” from a reply in a similar conversation and “sister” from your message."),
    ([{"reply": "ana", "from": "you"}], "It took “ana” from your message."),
])
def test_the_sentence_says_what_was_copied_and_from_where(app, copied, expected):
    data = {"answered": [], "barely": None, "copied": copied, "example": True}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert summary_sentence(data).endswith(expected)
        assert summary_sentence({**data, "copied": []}).endswith(
            "It wrote every word itself, with a reply from a similar conversation in view.")
