"""Hostile and odd input over the API: sizes, encodings, control characters, markup, ids, and a
property-based test that throws generated payloads at every chat endpoint."""

from __future__ import annotations

import json
import socket
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chatbot.storage.db import Message

PAYLOADS = [
    '<script>window.__pwned = "script"</script>',
    '<img src="x" onerror="window.__pwned = \'img\'">',
    '"><svg onload="window.__pwned = \'svg\'">',
    "'; DROP TABLE messages; --",
]


def stored_texts(app, conversation_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        session = app.extensions["lembra.db"]()
        rows = session.execute(select(Message.role, Message.text)
                               .where(Message.conversation_id == conversation_id)
                               .order_by(Message.id)).all()
        session.close()
    return [tuple(row) for row in rows]


@pytest.fixture
def conversation(visitor) -> str:
    return f"/api/conversations/{visitor.new_conversation()}/messages"


# Sizes


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u3000"])
def test_empty_and_whitespace_text_is_422(visitor, conversation, text):
    response = visitor.post(conversation, {"text": text})
    assert response.status_code == 422
    assert response.get_json() == {"error": "text must not be empty"}


def test_a_100k_character_message_is_refused_by_size(app, visitor, conversation, make_app, visitor_for):
    response = visitor.post(conversation, {"text": "x" * 100_000})
    assert response.status_code == 413  # the body is over MAX_CONTENT_LENGTH (64 KiB)
    assert "error" in response.get_json()
    roomy = visitor_for(make_app(MAX_CONTENT_LENGTH=1024 * 1024))
    url = f"/api/conversations/{roomy.new_conversation()}/messages"
    response = roomy.post(url, {"text": "x" * 100_000})
    assert response.status_code == 422
    assert "the limit is 1000" in response.get_json()["error"]


def test_the_turn_limit_is_a_clear_422(make_app, visitor_for, bot):
    visitor = visitor_for(make_app(BOT=bot, MAX_TURNS=4))
    url = f"/api/conversations/{visitor.new_conversation()}/messages"
    assert [visitor.post(url, {"text": f"hi {i}"}).status_code for i in range(2)] == [201, 201]
    full = visitor.post(url, {"text": "one more"})
    assert full.status_code == 422
    assert "full" in full.get_json()["error"]


def test_rate_limit_is_a_json_429_with_retry_after(make_app, visitor_for):
    visitor = visitor_for(make_app(RATELIMIT_ENABLED=True, RATELIMIT_CHAT="1 per minute"))
    url = f"/api/conversations/{visitor.new_conversation()}/messages"
    visitor.post(url, {"text": "first"})
    limited = visitor.post(url, {"text": "second"})
    assert limited.status_code == 429
    assert limited.mimetype == "application/json" and limited.get_json()["error"]
    assert int(limited.headers["Retry-After"]) > 0


# Encodings and characters


def test_invalid_utf8_and_invalid_json_are_400(app, visitor, conversation):
    for body in (b'{"text": "\xff\xfe"}', b"\xc3\x28", b'{"text": "hi"', b"[]", b"null", b"NaN"):
        response = visitor.post(conversation, data=body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.get_json() == {"error": "the request body must be a JSON object"}
    assert stored_texts(app, int(conversation.split("/")[3])) == []


@pytest.mark.parametrize(("body", "fragment"), [
    ('{"text": "a\\u0000b"}', "NUL"),
    ('{"text": "\\ud800 lone"}', "surrogate"),
    ('{"title": "\\u0000"}', "NUL"),
    ('{"text": "hi", "options": {"max_len": 1e999}}', "options"),
    ('{"text": "hi", "options": [null]}', "options must be an object"),
])
def test_unstorable_strings_and_overflowing_numbers_are_422(visitor, body, fragment):
    conversation_id = visitor.new_conversation()
    url = ("/api/conversations" if "title" in body
           else f"/api/conversations/{conversation_id}/messages")
    response = visitor.post(url, data=body, content_type="application/json")
    assert response.status_code == 422, response.get_json()
    assert fragment in response.get_json()["error"]


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u200b\n\u200e "])
def test_a_message_of_only_invisible_characters_is_422(app, visitor, conversation, text):
    response = visitor.post(conversation, {"text": text})
    assert response.status_code == 422
    assert response.get_json() == {"error": "text must not be empty"}
    assert stored_texts(app, int(conversation.split("/")[3])) == []


@pytest.mark.parametrize("option", ["beam_width", "mode", "temperature", "max_len", "top_p"])
def test_an_option_set_to_null_is_422(visitor, conversation, option):
    for url in (conversation, conversation.replace("/messages", "/reply")):
        response = visitor.post(url, {"text": "hi", "options": {option: None}})
        assert response.status_code == 422, (url, response.get_data())
        assert response.get_json() == {"error": f"options: {option} must not be null"}


@pytest.mark.parametrize("body", [b"[" * 5000, b'{"text": ' + b"[" * 5000, b'{"a":' * 5000])
def test_deeply_nested_json_is_400(visitor, conversation, body):
    response = visitor.post(conversation, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "the request body must be a JSON object"}


def test_pages_and_json_with_personal_content_are_not_cached(app, visitor, admin_for):
    conversation_id = visitor.new_conversation()
    admin = admin_for(app)
    for response in (visitor.get("/"), visitor.get(f"/c/{conversation_id}"),
                     visitor.get("/api/conversations"), visitor.get("/healthz"),
                     admin.get("/admin/"), admin.get(f"/admin/transcripts/{conversation_id}"),
                     admin.get("/admin/dashboard")):
        assert response.headers["Cache-Control"] == "no-store", response.request.path
    static = visitor.get("/static/css/app.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")


@pytest.mark.parametrize("text", [
    "bell \x07 escape \x1b[31m red \x7f del",
    "emoji 👋🏽🧑‍🚀 and flags 🇧🇷",
    "مرحبا كيف حالك؟ \u200f שלום",
    "mixed ltr \u202eTXET DESREVER\u202c back",
    *PAYLOADS,
])
def test_odd_text_is_stored_and_returned_verbatim(app, visitor, conversation, text):
    response = visitor.post(conversation, {"text": text})
    assert response.status_code == 503  # no model in this app; the message is stored anyway
    assert response.get_json()["user"]["text"] == text
    conversation_id = int(conversation.split("/")[3])
    assert stored_texts(app, conversation_id) == [("user", text)]
    detail = visitor.get(f"/api/conversations/{conversation_id}").get_json()
    assert detail["messages"][0]["text"] == text
    assert visitor.get("/api/conversations", query_string={"q": text}).status_code == 200


def test_search_with_nul_and_sql_metacharacters(visitor):
    visitor.new_conversation()
    for q in ("%", "_", "' OR 1=1 --", "\\", '"', "a\x00b"):
        response = visitor.get("/api/conversations", query_string={"q": q})
        assert response.status_code == 200, q
        assert response.get_json() == {"conversations": []}, q
    everything = visitor.get("/api/conversations", query_string={"q": "\x00"})
    assert len(everything.get_json()["conversations"]) == 1  # NUL alone is an empty search


# Ids


def test_unknown_ids_are_404_everywhere(visitor):
    for bad in (987654, 2**31, 10**30):
        for method, path in (
            ("get", f"/api/conversations/{bad}"),
            ("delete", f"/api/conversations/{bad}"),
            ("post", f"/api/conversations/{bad}/messages"),
            ("post", f"/api/conversations/{bad}/reply"),
            ("post", f"/api/messages/{bad}/feedback"),
            ("delete", f"/api/messages/{bad}/feedback"),
            ("get", f"/api/messages/{bad}/explanation"),
        ):
            kwargs = {"json": {"text": "hi", "rating": 1}} if method == "post" else {}
            response = getattr(visitor, method)(path, **kwargs)
            assert response.status_code == 404, (method, path)
            assert "error" in response.get_json()
    for path in ("/api/conversations/-1", "/api/conversations/abc", "/api/messages/1.5/feedback"):
        assert visitor.get(path).status_code in (404, 405)


def test_admin_ids_and_dates_beyond_any_column_are_4xx(app, admin_for, visitor):
    visitor.new_conversation()
    admin = admin_for(app)
    for bad in (2**63 - 1, 2**63, 10**30):
        assert admin.get(f"/admin/transcripts/{bad}").status_code == 404
        for path in (f"/admin/transcripts/{bad}/review", f"/admin/transcripts/{bad}/delete",
                     f"/admin/corrections/{bad}/accept"):
            assert admin.post(path, {"confirm": "yes"}).status_code == 404, path
    for dates in ({"to": "9999-12-31"}, {"from": "0001-01-01", "to": "9999-12-31"},
                  {"from": "9999-12-31"}):
        for path in ("/admin/", "/admin/export.csv", "/admin/export.jsonl"):
            response = admin.get(path, query_string=dates)
            assert response.status_code == 200, (path, dates)
            response.get_data()  # the streamed exports must run to their end
    until_the_end = admin.get("/admin/export.csv", query_string={"to": "9999-12-31"})
    assert until_the_end.get_data() == admin.get("/admin/export.csv").get_data()


# A property-based test over every chat endpoint

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6)
OPTION_KEYS = ["mode", "beam_width", "temperature", "top_k", "top_p", "max_len", "min_len",
               "seed", "no_repeat_ngram", "length_penalty", "repetition_penalty", "nonsense"]
OPTIONS = st.one_of(
    JSON_VALUES,
    st.dictionaries(st.sampled_from(OPTION_KEYS),
                    st.sampled_from(["greedy", "beam", "sample"]) | st.integers(-5, 100)
                    | st.floats(-1, 3) | JSON_VALUES, max_size=4))
BODIES = st.one_of(
    st.fixed_dictionaries({"text": st.text(max_size=200)},
                          optional={"options": OPTIONS, "explain": JSON_VALUES,
                                    "title": JSON_VALUES}).map(json.dumps),
    st.fixed_dictionaries({"rating": JSON_VALUES | st.sampled_from([1, -1])},
                          optional={"comment": JSON_VALUES}).map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.binary(max_size=120),
).map(lambda body: body if isinstance(body, bytes) else body.encode())
ENDPOINTS = [
    ("POST", "/api/conversations"),
    ("POST", "/api/conversations/{c}/messages"),
    ("POST", "/api/conversations/{c}/reply"),
    ("POST", "/api/messages/{m}/feedback"),
    ("DELETE", "/api/messages/{m}/feedback"),
    ("GET", "/api/messages/{m}/explanation"),
    ("GET", "/api/conversations/{c}"),
    ("GET", "/api/conversations?q={q}"),
    ("DELETE", "/api/conversations/{o}"),
]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(calls=st.lists(st.tuples(st.sampled_from(ENDPOINTS), BODIES, st.text(max_size=10)),
                      min_size=1, max_size=4))
def test_generated_payloads_never_5xx_nor_lose_a_message(model_app, visitor_for, calls):
    visitor = visitor_for(model_app)
    conversation_id = visitor.new_conversation()
    first = visitor.post(f"/api/conversations/{conversation_id}/messages",
                         {"text": "hello", "options": {"mode": "greedy", "max_len": 4}})
    assert first.status_code == 201
    kept = {first.get_json()["user"]["id"]: "hello"}
    reply_id = first.get_json()["reply"]["id"]
    kept[reply_id] = first.get_json()["reply"]["text"]
    for (method, template), body, query in calls:
        path = template.format(c=conversation_id, m=reply_id, q=query, o=987654)
        response = visitor.client.open(path, method=method, data=body,
                                       content_type="application/json",
                                       headers={"X-CSRF-Token": visitor.token})
        assert response.status_code < 500, (method, path, body, response.get_data())
        data = response.get_json(silent=True) or {}
        if response.status_code == 201 and "user" in data:
            kept[data["user"]["id"]] = data["user"]["text"]
        if response.status_code == 201 and "reply" in data:
            kept.pop(data.get("replaced"), None)  # regenerating replaces the last reply
            reply_id = data["reply"]["id"]
            kept[reply_id] = data["reply"]["text"]
    stored = {m["id"]: m["text"] for m in
              visitor.get(f"/api/conversations/{conversation_id}").get_json()["messages"]}
    assert stored == kept


def test_rate_limits_hold_across_workers_with_the_default_store(make_app, visitor_for):
    """Two apps over one database (two gunicorn workers) share the default SQLite-file store:
    one visitor gets the documented budget, not one per worker, and /messages and /reply draw
    from the same bucket."""
    limited = {"RATELIMIT_ENABLED": True, "RATELIMIT_CHAT": "3 per minute",
               "RATELIMIT_STORAGE_URI": ""}
    first, second = make_app(**limited), make_app(**limited)
    visitor = visitor_for(first)
    base = f"/api/conversations/{visitor.new_conversation()}"
    elsewhere = second.test_client()  # the same browser, answered by the other worker
    elsewhere.set_cookie("lembra_visitor", visitor.client.get_cookie("lembra_visitor").value)
    headers = {"X-CSRF-Token": visitor.token}
    statuses = [visitor.post(base + "/messages", {"text": "one"}).status_code,
                elsewhere.post(base + "/reply", json={}, headers=headers).status_code,
                elsewhere.post(base + "/messages", json={"text": "two"}, headers=headers).status_code,
                visitor.post(base + "/reply", {}).status_code]
    assert statuses == [503, 503, 503, 429]  # stored (no model here) three times, then limited


def test_edits_draw_from_the_chat_bucket(make_app, visitor_for):
    visitor = visitor_for(make_app(RATELIMIT_ENABLED=True, RATELIMIT_CHAT="2 per minute"))
    first = visitor.post(f"/api/conversations/{visitor.new_conversation()}/messages", {"text": "one"})
    message = first.get_json()["user"]["id"]
    edits = [visitor.patch(f"/api/messages/{message}", {"text": t}).status_code for t in ("2", "3")]
    assert [first.status_code, *edits] == [503, 503, 429]  # stored (no model), then limited


def test_every_view_that_answers_is_in_the_chat_bucket():
    """A view that runs the model (it answers a turn) must be limited, whatever its route."""
    import inspect

    from chatbot.web import api
    from chatbot.web.limits import LIMITED_VIEWS

    answering = {f"api.{name}" for name, fn in vars(api).items()
                 if inspect.isfunction(fn) and fn.__module__ == api.__name__
                 and not name.startswith("_")
                 and ("_answer_saved_message(" in inspect.getsource(fn)
                      or "generate(" in inspect.getsource(fn))}
    assert answering and answering <= set(LIMITED_VIEWS), answering - set(LIMITED_VIEWS)


def test_new_visitor_cookies_do_not_multiply_the_limit(make_app, visitor_for):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_CHAT="2 per minute",
                   RATELIMIT_CHAT_ADDRESS="3 per minute")
    statuses = []
    for _ in range(3):  # three minted visitors from one address
        visitor = visitor_for(app)
        url = f"/api/conversations/{visitor.new_conversation()}/messages"
        statuses += [visitor.post(url, {"text": "hi"}).status_code for _ in range(2)]
    assert statuses == [503, 503, 503, 429, 429, 429]
    other = visitor_for(app)  # another address has its own budget
    other.client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    url = f"/api/conversations/{other.new_conversation()}/messages"
    assert other.post(url, {"text": "hi"}).status_code == 503


def test_the_rate_limit_error_speaks_the_page_language(make_app, visitor_for):
    visitor = visitor_for(make_app(RATELIMIT_ENABLED=True, RATELIMIT_CHAT="1 per minute"))
    url = f"/api/conversations/{visitor.new_conversation()}/messages"
    visitor.post(url, {"text": "first"})
    limited = visitor.post(url, {"text": "second"}, headers={"Accept-Language": "pt-BR"})
    assert limited.status_code == 429
    error = limited.get_json()["error"]
    seconds = int(limited.headers["Retry-After"])
    assert error in (f"Pedidos demais: tente de novo em {s} s." for s in (seconds, seconds + 1))
    english = visitor.post(url, {"text": "third"}, headers={"Accept-Language": "en"})
    assert english.get_json()["error"].startswith("Too many requests: please try again in ")


def test_rate_limits_are_shared_through_redis(make_app, visitor_for):
    """Two apps (two gunicorn workers) agree on a visitor's budget via RATELIMIT_STORAGE_URI."""
    pytest.importorskip("redis", reason="the redis client is not installed")
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis server at 127.0.0.1:6379")
    shared = {"RATELIMIT_ENABLED": True, "RATELIMIT_CHAT": "2 per minute",
              "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
              "RATELIMIT_KEY_PREFIX": f"lembra-test-{uuid.uuid4().hex}"}
    first, second = make_app(**shared), make_app(**shared)
    visitor = visitor_for(first)
    url = f"/api/conversations/{visitor.new_conversation()}/messages"
    assert visitor.post(url, {"text": "one"}).status_code == 503  # stored; no model here
    elsewhere = second.test_client()  # the same browser, answered by the other worker
    elsewhere.set_cookie("lembra_visitor", visitor.client.get_cookie("lembra_visitor").value)
    headers = {"X-CSRF-Token": visitor.token}
    assert elsewhere.post(url, json={"text": "two"}, headers=headers).status_code == 503
    limited = elsewhere.post(url, json={"text": "three"}, headers=headers)
    assert limited.status_code == 429 and limited.get_json()["error"]
