"""The JSON API through the Flask test client: ownership, validation, errors and replies."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from chatbot import confidence
from chatbot.storage.db import Feedback, Message

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def stored_messages(app, conversation_id):
    with app.app_context():
        session = app.extensions["lembra.db"]()
        rows = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                               .order_by(Message.id)).all()
        session.close()
        return rows


# Conversations


def test_conversation_lifecycle(visitor):
    assert visitor.get("/api/conversations").get_json() == {"conversations": []}
    conversation_id = visitor.new_conversation()
    listed = visitor.get("/api/conversations").get_json()["conversations"]
    assert [c["id"] for c in listed] == [conversation_id]
    detail = visitor.get(f"/api/conversations/{conversation_id}").get_json()
    assert detail["messages"] == [] and detail["title"] == ""
    assert visitor.delete(f"/api/conversations/{conversation_id}").status_code == 204
    assert visitor.get(f"/api/conversations/{conversation_id}").status_code == 404


def test_another_visitors_conversation_is_404(app, visitor_for):
    owner, stranger = visitor_for(app), visitor_for(app)
    conversation_id = owner.new_conversation()
    owner.post(f"/api/conversations/{conversation_id}/messages", {"text": "my secret"})
    message_id = stored_messages(app, conversation_id)[0].id

    attempts = [
        stranger.get(f"/api/conversations/{conversation_id}"),
        stranger.delete(f"/api/conversations/{conversation_id}"),
        stranger.post(f"/api/conversations/{conversation_id}/messages", {"text": "hi"}),
        stranger.post(f"/api/conversations/{conversation_id}/reply", {}),
        stranger.post(f"/api/messages/{message_id}/feedback", {"rating": 1}),
        stranger.get(f"/api/messages/{message_id}/explanation"),
        stranger.get(f"/c/{conversation_id}", headers={"Accept": "text/html"}),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert attempts[0].get_json() == {"error": "conversation not found"}
    assert stranger.get("/api/conversations").get_json() == {"conversations": []}
    assert "my secret" not in stranger.get("/api/export").get_data(as_text=True)
    assert owner.get(f"/api/conversations/{conversation_id}").status_code == 200


def test_tampered_visitor_cookie_is_a_new_visitor(app, visitor_for):
    owner = visitor_for(app)
    conversation_id = owner.new_conversation()
    cookie = owner.client.get_cookie("lembra_visitor")
    forger = app.test_client()
    forger.set_cookie("lembra_visitor", cookie.value[:-2] + "xx")
    assert forger.get(f"/api/conversations/{conversation_id}").status_code == 404


def test_search_matches_titles_and_message_text(visitor):
    first, second = visitor.new_conversation(), visitor.new_conversation()
    visitor.post(f"/api/conversations/{first}/messages", {"text": "Tell me about PIZZA 100%"})
    visitor.post(f"/api/conversations/{second}/messages", {"text": "hello"})
    visitor.post(f"/api/conversations/{second}/messages", {"text": "I like mountains"})

    def found(q):
        data = visitor.get("/api/conversations", query_string={"q": q}).get_json()
        return [c["id"] for c in data["conversations"]]

    assert found("pizza") == [first]
    assert found("MOUNTAIN") == [second]
    assert found("100%") == [first]
    assert found("%") == [first]  # a literal percent sign, not a wildcard
    assert found("nothing like this") == []
    assert set(found("")) == {first, second}
    results = visitor.get("/api/conversations", query_string={"q": "mountains"}).get_json()
    assert results["conversations"][0]["snippet"] == "I like mountains"  # where it was found
    results = visitor.get("/api/conversations", query_string={"q": "pizza"}).get_json()
    assert results["conversations"][0]["snippet"] is None  # the title says it already
    assert "snippet" not in visitor.get("/api/conversations").get_json()["conversations"][0]


def test_title_comes_from_first_message(visitor):
    conversation_id = visitor.new_conversation()
    long_text = "where do you   like\nto go " + "very " * 40
    visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": long_text})
    visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": "second"})
    title = visitor.get(f"/api/conversations/{conversation_id}").get_json()["title"]
    assert title.startswith("where do you like to go very")
    assert title.endswith("…") and len(title) <= 80


def test_export_holds_all_my_conversations(visitor):
    conversation_id = visitor.new_conversation()
    visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": "hello there"})
    response = visitor.get("/api/export")
    assert "attachment" in response.headers["Content-Disposition"]
    exported = response.get_json()["conversations"]
    assert exported[0]["messages"][0]["text"] == "hello there"


# Validation and errors


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({}, 422, "text must be a string"),
    ({"text": "   "}, 422, "must not be empty"),
    ({"text": 5}, 422, "must be a string"),
    ({"text": "x" * 1001}, 422, "limit is 1000"),
    ({"text": "hi", "explain": "yes"}, 422, "explain must be true or false"),
    ({"text": "hi", "options": {"mode": "psychic"}}, 422, "mode must be one of"),
    ({"text": "hi", "options": {"beam_width": 99}}, 422, "beam_width"),
    ({"text": "hi", "options": {"nonsense": 1}}, 422, "nonsense"),
    ({"text": "hi", "options": "beam"}, 422, "options"),
])
def test_invalid_messages_are_422(visitor, body, status, fragment):
    conversation_id = visitor.new_conversation()
    response = visitor.post(f"/api/conversations/{conversation_id}/messages", body)
    assert response.status_code == status
    assert fragment in response.get_json()["error"]
    assert visitor.get(f"/api/conversations/{conversation_id}").get_json()["messages"] == []


def test_malformed_json_is_400(visitor):
    conversation_id = visitor.new_conversation()
    url = f"/api/conversations/{conversation_id}/messages"
    for data in ("{not json", "[1, 2]", '"text"'):
        response = visitor.post(url, data=data, content_type="application/json")
        assert response.status_code == 400
        assert response.get_json() == {"error": "the request body must be a JSON object"}


def test_http_errors_are_json(visitor, make_app, visitor_for):
    missing = visitor.get("/api/nothing-here")
    assert missing.status_code == 404 and "error" in missing.get_json()
    wrong_method = visitor.client.put("/api/conversations", headers={"X-CSRF-Token": visitor.token})
    assert wrong_method.status_code == 405 and "error" in wrong_method.get_json()
    assert "GET" in wrong_method.headers["Allow"]

    small = visitor_for(make_app(MAX_CONTENT_LENGTH=1024))
    conversation_id = small.new_conversation()
    too_big = small.post(f"/api/conversations/{conversation_id}/messages", {"text": "x" * 5000})
    assert too_big.status_code == 413 and "error" in too_big.get_json()


def test_unexpected_errors_are_json_too(make_app):
    app = make_app()

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/api/broken", view_func=broken)
    response = app.test_client().get("/api/broken")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error"}


def test_pages_answer_errors_as_html(app):
    response = app.test_client().get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Back to the chat" in response.get_data(as_text=True)


def test_message_limit_per_conversation(make_app, visitor_for):
    visitor = visitor_for(make_app(MAX_TURNS=2))
    conversation_id = visitor.new_conversation()
    url = f"/api/conversations/{conversation_id}/messages"
    assert visitor.post(url, {"text": "one"}).status_code == 503  # stored; no model to reply
    assert visitor.post(url, {"text": "two"}).status_code == 503
    full = visitor.post(url, {"text": "three"})
    assert full.status_code == 422 and "full" in full.get_json()["error"]


def test_chat_is_rate_limited_per_visitor(make_app, visitor_for):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_CHAT="2 per minute")
    first, second = visitor_for(app), visitor_for(app)
    conversation_id = first.new_conversation()
    url = f"/api/conversations/{conversation_id}/messages"
    codes = [first.post(url, {"text": "hi"}).status_code for _ in range(3)]
    assert codes == [503, 503, 429]
    assert "error" in first.post(url, {"text": "hi"}).get_json()
    other = second.new_conversation()
    assert second.post(f"/api/conversations/{other}/messages", {"text": "hi"}).status_code == 503


# Security


def test_security_headers_on_every_response(visitor):
    for path in ("/", "/api/conversations", "/static/css/app.css", "/api/missing", "/healthz"):
        response = visitor.get(path)
        response.close()  # static files are streamed from an open file
        for header, value in SECURITY_HEADERS.items():
            assert response.headers[header] == value, path
        csp = response.headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'self'",
                          "frame-ancestors 'none'", "script-src 'self'"):
            assert directive in csp
        assert "unsafe-inline" not in csp


def test_page_gives_a_visitor_cookie_and_the_csrf_token(app):
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200
    cookie = client.get_cookie("lembra_visitor")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    html = page.get_data(as_text=True)
    token = client.get("/api/csrf").get_json()["csrf_token"]
    assert f'<meta name="csrf-token" content="{token}">' in html
    assert "<script>" not in html and "onclick=" not in html  # no inline script for the CSP


def test_state_changes_need_the_csrf_header_once_a_cookie_exists(app, visitor_for):
    client = app.test_client()
    client.get("/")  # now the browser holds a visitor cookie
    assert client.post("/api/conversations", json={}).status_code == 403
    forged = client.post("/api/conversations", json={}, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403 and "CSRF" in forged.get_json()["error"]
    token = client.get("/api/csrf").get_json()["csrf_token"]
    assert client.post("/api/conversations", json={},
                       headers={"X-CSRF-Token": token}).status_code == 201
    # Another visitor's token is worthless here.
    other = visitor_for(app)
    assert client.post("/api/conversations", json={},
                       headers={"X-CSRF-Token": other.token}).status_code == 403


def test_a_cookieless_state_change_is_403_and_sets_no_cookie(app, visitor_for):
    """A cross-site POST arrives without our cookie when the browser blocks third-party
    cookies; a fresh identity in reply would replace the victim's cookie."""
    client = app.test_client()
    for method in ("POST", "DELETE", "PATCH"):
        response = client.open("/api/conversations/1", method=method, json={})
        assert response.status_code in (403, 405) and "Set-Cookie" not in response.headers
    response = client.post("/api/conversations", json={})
    assert response.status_code == 403 and "Set-Cookie" not in response.headers
    assert "X-CSRF-Token" in response.get_json()["error"]
    assert client.get_cookie("lembra_visitor") is None
    tampered = visitor_for(app)
    tampered.client.set_cookie("lembra_visitor", "forged")
    assert tampered.client.post("/api/conversations", json={},
                                headers={"X-CSRF-Token": "0" * 64}).status_code == 403


# Without a model


def test_user_message_is_kept_when_the_model_is_missing(app, visitor):
    conversation_id = visitor.new_conversation()
    response = visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": "hello"})
    assert response.status_code == 503
    body = response.get_json()
    assert "saved" in body["error"] and "model" in body["error"]
    assert body["user"]["text"] == "hello"
    assert [(m.role, m.text) for m in stored_messages(app, conversation_id)] == [("user", "hello")]


def test_healthz_reports_a_missing_model(app, make_app, tmp_path):
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["model_loaded"] is False and body["database"] == "ok" and body["error"]

    broken = make_app(LOAD_MODEL=True, MODEL_DIR=str(tmp_path / "no-such-bundle"))
    body = broken.test_client().get("/healthz").get_json()
    assert "no-such-bundle" in body["model_error"]


# With the tiny trained model


def test_post_message_stores_both_turns(model_app, chatter, bot):
    conversation_id = chatter.new_conversation()
    response = chatter.post(f"/api/conversations/{conversation_id}/messages",
                            {"text": "hello, how are you?", "options": {"mode": "greedy"}})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["user"]["text"] == "hello, how are you?"
    reply = data["reply"]
    assert reply["role"] == "bot" and reply["text"].strip()
    assert reply["model_version"] == bot.version
    assert reply["options"]["mode"] == "greedy" and reply["latency_ms"] > 0
    stored = stored_messages(model_app, conversation_id)
    assert [(m.role, m.text) for m in stored] == [("user", "hello, how are you?"),
                                                  ("bot", reply["text"])]
    assert stored[1].options["mode"] == "greedy"


def test_replies_use_earlier_turns_as_context(chatter, bot):
    from chatbot.decoding import DecodeOptions

    conversation_id = chatter.new_conversation()
    url = f"/api/conversations/{conversation_id}/messages"
    greedy = {"mode": "greedy"}
    first = chatter.post(url, {"text": "hi there", "options": greedy}).get_json()
    second = chatter.post(url, {"text": "what do you do?", "options": greedy}).get_json()
    history = ["hi there", first["reply"]["text"], "what do you do?"]
    expected = bot.reply(history, DecodeOptions.from_dict(greedy)).text
    assert second["reply"]["text"] == expected


def test_sampled_replies_store_their_seed(chatter):
    conversation_id = chatter.new_conversation()
    response = chatter.post(f"/api/conversations/{conversation_id}/messages",
                            {"text": "hello", "options": {"mode": "sample", "temperature": 0.9}})
    options = response.get_json()["reply"]["options"]
    assert options["mode"] == "sample" and isinstance(options["seed"], int)


def test_feedback_is_stored_replaced_and_cleared(model_app, chatter):
    conversation_id = chatter.new_conversation()
    data = chatter.post(f"/api/conversations/{conversation_id}/messages",
                        {"text": "hello"}).get_json()
    reply_id, user_id = data["reply"]["id"], data["user"]["id"]
    url = f"/api/messages/{reply_id}/feedback"

    assert chatter.post(url, {"rating": 1}).get_json()["feedback"]["rating"] == 1
    changed = chatter.post(url, {"rating": -1, "comment": "off topic"}).get_json()
    assert changed["feedback"] == {**changed["feedback"], "rating": -1, "comment": "off topic"}
    messages = chatter.get(f"/api/conversations/{conversation_id}").get_json()["messages"]
    assert messages[1]["feedback"]["rating"] == -1

    for bad in ({"rating": 0}, {"rating": True}, {"rating": "1"}, {"rating": 1, "comment": 3}):
        assert chatter.post(url, bad).status_code == 422
    assert chatter.post(f"/api/messages/{user_id}/feedback", {"rating": 1}).status_code == 422

    assert chatter.delete(url).status_code == 204
    with model_app.app_context():
        session = model_app.extensions["lembra.db"]()
        assert session.scalars(select(Feedback)).all() == []
        session.close()


def test_explanation_is_stored_when_asked_for(chatter):
    conversation_id = chatter.new_conversation()
    data = chatter.post(f"/api/conversations/{conversation_id}/messages",
                        {"text": "do you like music?", "explain": True}).get_json()
    assert data["reply"]["has_explanation"] is True
    body = chatter.get(f"/api/messages/{data['reply']['id']}/explanation").get_json()
    explanation = body["explanation"]
    assert body["exact"] is True
    reply_len, source_len = len(explanation["reply"]), len(explanation["source"])
    assert reply_len > 0 and source_len > 0
    assert len(explanation["attention"]) == reply_len
    assert all(len(row) == source_len for row in explanation["attention"])
    for gate in ("input", "forget", "output"):
        assert len(explanation["gates"][gate]) == reply_len
        assert all(0.0 <= value <= 1.0 for value in explanation["gates"][gate])


@pytest.mark.parametrize("mode", ["greedy", "sample"])
def test_explanation_is_computed_on_demand(model_app, chatter, mode):
    conversation_id = chatter.new_conversation()
    data = chatter.post(f"/api/conversations/{conversation_id}/messages",
                        {"text": "where are you from?", "options": {"mode": mode}}).get_json()
    reply = data["reply"]
    assert reply["has_explanation"] is False
    body = chatter.get(f"/api/messages/{reply['id']}/explanation").get_json()
    assert body["exact"] is True  # the serving model stepped through exactly this reply
    pieces = "".join(body["explanation"]["reply"]).replace("\u2581", " ").strip()
    assert pieces == reply["text"].strip()
    shown = body["explanation"]
    sentence = shown.pop("summary")  # written per request, in its language
    # on the message's own confidence scale, said per request too
    assert (shown.pop("confidence"), shown.pop("confidence_level")) == (reply["confidence"],
                                                                        reply["confidence_level"])
    assert shown.pop("sampled") is (mode == "sample")
    saved = dict(stored_messages(model_app, conversation_id)[1].explanation)
    saved.pop("confidence")
    assert sentence and saved == shown
    assert chatter.get(f"/api/messages/{data['user']['id']}/explanation").status_code == 422


def test_regenerate_replaces_the_last_reply(model_app, chatter):
    conversation_id = chatter.new_conversation()
    first = chatter.post(f"/api/conversations/{conversation_id}/messages",
                         {"text": "tell me something"}).get_json()
    again = chatter.post(f"/api/conversations/{conversation_id}/reply",
                         {"options": {"mode": "beam", "beam_width": 3}})
    assert again.status_code == 201
    body = again.get_json()
    assert body["replaced"] == first["reply"]["id"]
    assert body["reply"]["options"]["mode"] == "beam"
    rows = [(m.role, m.id, m.superseded_by_id) for m in stored_messages(model_app, conversation_id)]
    assert rows == [("user", first["user"]["id"], None),  # the replaced reply is kept
                    ("bot", first["reply"]["id"], body["reply"]["id"]),
                    ("bot", body["reply"]["id"], None)]


def test_replies_list_their_versions_and_confidence(model_app, chatter):
    conversation_id = chatter.new_conversation()
    first = chatter.post(f"/api/conversations/{conversation_id}/messages",
                         {"text": "tell me something"}).get_json()["reply"]
    assert [v["id"] for v in first["versions"]] == [first["id"]]
    assert isinstance(first["confidence"], float) and 0 < first["confidence"] <= 1
    assert first["confidence_level"] == confidence.level(first["confidence"])
    second = chatter.post(f"/api/conversations/{conversation_id}/reply", {}).get_json()["reply"]
    third = chatter.post(f"/api/conversations/{conversation_id}/reply", {}).get_json()["reply"]
    assert [v["id"] for v in third["versions"]] == [first["id"], second["id"], third["id"]]
    assert [v["text"] for v in third["versions"]] == [first["text"], second["text"], third["text"]]
    assert third["versions"][0] == {k: v for k, v in first.items() if k != "versions"}  # all a bubble shows
    shown = chatter.get(f"/api/conversations/{conversation_id}").get_json()["messages"]
    assert [m["id"] for m in shown] == [shown[0]["id"], third["id"]]  # superseded ones are hidden
    assert shown[1]["versions"] == third["versions"]
    assert [v["id"] for v in shown[0]["versions"]] == [shown[0]["id"]]  # a message never edited
    exported = chatter.get("/api/export").get_json()["conversations"]
    assert [m["id"] for m in exported[0]["messages"]] == [shown[0]["id"], third["id"]]
    assert exported[0]["messages"][1]["versions"] == third["versions"]


@pytest.mark.parametrize("mode", ["greedy", "beam", "rerank"])
def test_the_regenerate_route_gives_a_different_reply_in_every_mode(chatter, mode):
    """Greedy and beam search are deterministic: without being told what to avoid, they would
    give the same reply again."""
    conversation_id = chatter.new_conversation()
    options = {"mode": mode, "seed": 5}
    texts = [chatter.post(f"/api/conversations/{conversation_id}/messages",
                          {"text": "what do you like to do?", "options": options}
                          ).get_json()["reply"]["text"]]
    for _ in range(3):
        again = chatter.post(f"/api/conversations/{conversation_id}/reply", {"options": options})
        texts.append(again.get_json()["reply"]["text"])
    assert len(set(texts)) == len(texts)  # each new version differs from every earlier one


def test_retry_answers_a_message_saved_while_the_model_was_down(make_app, bot, visitor_for):
    down = visitor_for(make_app())
    conversation_id = down.new_conversation()
    assert down.post(f"/api/conversations/{conversation_id}/messages",
                     {"text": "are you there?"}).status_code == 503
    assert down.post(f"/api/conversations/{conversation_id}/reply", {}).status_code == 503

    up = make_app(BOT=bot)  # same database, model back
    client = up.test_client()
    client.set_cookie("lembra_visitor", down.client.get_cookie("lembra_visitor").value)
    response = client.post(f"/api/conversations/{conversation_id}/reply", json={},
                           headers={"X-CSRF-Token": down.token})
    assert response.status_code == 201
    assert response.get_json()["replaced"] is None
    assert [m.role for m in stored_messages(up, conversation_id)] == ["user", "bot"]


def test_healthz_is_ok_with_a_model(model_app, bot):
    response = model_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["model_version"] == bot.version


def test_the_app_loads_and_warms_up_the_bundle_at_model_dir(make_app, tiny_bundle, visitor_for):
    app = make_app(LOAD_MODEL=True, MODEL_DIR=str(tiny_bundle))
    assert app.test_client().get("/healthz").status_code == 200
    visitor = visitor_for(app)
    conversation_id = visitor.new_conversation()
    response = visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": "hi"})
    assert response.status_code == 201


def test_a_corrupt_bundle_is_reported_not_served(make_app, tiny_bundle, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_bundle, broken)
    (broken / "model.keras").write_bytes(b"not a keras archive")
    app = make_app(LOAD_MODEL=True, MODEL_DIR=str(broken))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "model.keras" in response.get_json()["model_error"]


def test_hsts_and_secure_cookie_behind_an_https_proxy(make_app):
    forwarded = {"X-Forwarded-Proto": "https"}
    direct = make_app().test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" not in direct.headers  # untrusted header ignored
    proxied_client = make_app(PROXY_HOPS=1).test_client()
    proxied = proxied_client.get("/", headers=forwarded)
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
    assert proxied_client.get_cookie("lembra_visitor").secure


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
