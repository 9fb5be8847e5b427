"""Transcript review: inbox counts and pages, search (and hostile searches), filters, the
transcript view, review notes, delete, and the exports (JSONL through the training loader, CSV)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from chatbot.storage.db import Conversation, Feedback, Message, upgrade
from chatbot.web.database import get_session
from train.corpora import load_transcripts

OPTIONS = {"mode": "beam", "beam_width": 3}


def seed(app) -> dict[str, int]:
    """Three conversations: pizza (thumbs down, model v2), greetings (thumbs up, v1), old one."""
    with app.app_context():
        session = get_session()
        made = {}
        for key, day, turns in [
            ("greeting", datetime(2026, 3, 2, 9, tzinfo=UTC),
             [("user", "hello there"), ("bot", "hi! how are you?", "v1", 1)]),
            ("pizza", datetime(2026, 3, 5, 18, tzinfo=UTC),
             [("user", "Do you like pizza with pineapple?"), ("bot", "i don't know", "v2", -1),
              ("user", "=HYPERLINK(\"http://x\") olá café"), ("bot", "sure", "v2", None)]),
            ("old", datetime(2025, 12, 31, 23, tzinfo=UTC),
             [("user", "happy new year"), ("bot", "you too", "v1", None)]),
        ]:
            conversation = Conversation(visitor_id=key, title=turns[0][1][:80], created_at=day,
                                        updated_at=day)
            for turn in turns:
                message = Message(role=turn[0], text=turn[1], created_at=day)
                if turn[0] == "bot":
                    message.model_version, message.options, message.latency_ms = (
                        turn[2], OPTIONS, 42.0)
                    if turn[3]:
                        message.feedback = Feedback(rating=turn[3], comment="meh")
                conversation.messages.append(message)
            session.add(conversation)
            session.commit()
            made[key] = conversation.id
        return made


@pytest.fixture
def seeded(app, admin_for):
    ids = seed(app)
    return admin_for(app), ids


def listed(response) -> list[int]:
    return [int(i) for i in re.findall(r'class="transcript-link" href="/admin/transcripts/(\d+)[?"]',
                                       response.get_data(as_text=True))]


def test_inbox_is_newest_first_with_counts(seeded):
    admin, ids = seeded
    response = admin.get("/admin/")
    assert response.status_code == 200
    assert listed(response) == [ids["pizza"], ids["greeting"], ids["old"]]
    page = response.get_data(as_text=True)
    assert "Conversations found: 3" in page
    row = page[page.index(f"/admin/transcripts/{ids['pizza']}"):]
    row = row[:row.index("</tr>")]
    assert ">4<" in row and "▲ 0" in row and "▼ 1" in row and "<code>v2</code>" in row


def test_inbox_pages(app, admin_for):
    with app.app_context():
        session = get_session()
        session.add_all(Conversation(visitor_id="v", title=f"c{i}") for i in range(30))
        session.commit()
    admin = admin_for(app)
    first, second = admin.get("/admin/"), admin.get("/admin/?page=2")
    assert len(listed(first)) == 25 and len(listed(second)) == 5
    assert "Page 1 of 2" in first.get_data(as_text=True)
    assert "Conversations found: 30" in second.get_data(as_text=True)
    assert len(listed(admin.get("/admin/?page=99"))) == 5  # clamped to the last page


def test_search_finds_a_known_message(seeded):
    admin, ids = seeded
    assert listed(admin.get("/admin/?q=pineapple")) == [ids["pizza"]]
    assert listed(admin.get("/admin/?q=PIZZA+pineapple")) == [ids["pizza"]]
    assert listed(admin.get("/admin/?q=hello")) == [ids["greeting"]]
    assert listed(admin.get("/admin/?q=pineapple+hello")) == []  # every word, in one message


@pytest.mark.sqlite_only  # FTS5's unicode61 folds accents; PostgreSQL's 'simple' config does not
def test_search_folds_accents_on_sqlite(seeded):
    admin, ids = seeded
    assert listed(admin.get("/admin/?q=cafe+ola")) == [ids["pizza"]]


@pytest.mark.parametrize("query", [
    "'; DROP TABLE messages; --", '"', "*", "(", 'pizza" OR "hello', "NEAR(a b)", "-pizza",
    "pizza*", "%", "_", "\\", "' OR 1=1 --", "a:b", "^x", "\x00",
])
def test_hostile_searches_are_just_text(seeded, query):
    admin, _ = seeded
    response = admin.get("/admin/", query_string={"q": query})
    assert response.status_code == 200
    export = admin.get("/admin/export.jsonl", query_string={"q": query})
    export.get_data()  # stream it to the end, so its transaction ends
    assert export.status_code == 200
    with admin.app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Message)) == 8


def test_search_without_words_matches_substrings(seeded):
    admin, ids = seeded
    assert listed(admin.get("/admin/", query_string={"q": "?"})) == [ids["pizza"], ids["greeting"]]
    assert listed(admin.get("/admin/", query_string={"q": "%"})) == []


def test_filters(seeded):
    admin, ids = seeded
    assert listed(admin.get("/admin/?negative=1")) == [ids["pizza"]]
    assert listed(admin.get("/admin/?model=v1")) == [ids["greeting"], ids["old"]]
    assert listed(admin.get("/admin/?from=2026-01-01")) == [ids["pizza"], ids["greeting"]]
    assert listed(admin.get("/admin/?to=2026-03-02")) == [ids["greeting"], ids["old"]]
    assert listed(admin.get("/admin/?from=2026-03-03&to=2026-03-05")) == [ids["pizza"]]
    assert listed(admin.get("/admin/?from=not-a-date")) == [ids["pizza"], ids["greeting"], ids["old"]]


HUGE = str(2**64 + 7)


@pytest.mark.parametrize("path", ["/admin/", "/admin/suggestions", "/admin/export.csv",
                                  "/admin/export.jsonl"])
@pytest.mark.parametrize("query", [f"after={HUGE}", f"min={HUGE}", f"max={HUGE}", f"min=-{HUGE}",
                                   f"page={HUGE}", "below=nan", f"below=1e{HUGE}"])
def test_integer_filters_past_any_database_integer_are_not_errors(seeded, path, query):
    admin, _ = seeded
    response = admin.get(f"{path}?{query}")
    assert response.status_code in (200, 302), response.status_code
    body = response.get_data(as_text=True)  # read to the end: an export must not break off
    if path.startswith("/admin/export") and response.status_code == 200:
        assert body == "" or body.endswith("\n")


def test_transcript_shows_each_reply_in_full(seeded):
    admin, ids = seeded
    page = admin.get(f"/admin/transcripts/{ids['pizza']}").get_data(as_text=True)
    assert "Do you like pizza with pineapple?" in page
    assert "<code>v2</code>" in page and "<code>beam_width=3</code>" in page
    assert "42 ms" in page and "▼ bad" in page and "meh" in page
    assert admin.get("/admin/transcripts/9999").status_code == 404


def test_text_is_escaped_in_the_transcript(app, admin_for):
    with app.app_context():
        session = get_session()
        session.add(Conversation(visitor_id="v", title="x", messages=[
            Message(role="user", text="<img src=x onerror=alert(1)>")]))
        session.commit()
    page = admin_for(app).get("/admin/transcripts/1").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_review_flags_tags_and_marks_reviewed(seeded):
    admin, ids = seeded
    url = f"/admin/transcripts/{ids['pizza']}/review"
    response = admin.post(url, {"flagged": "1", "reviewed": "1", "tags": "food, wrong ,food"})
    assert response.status_code == 302
    page = admin.get(f"/admin/transcripts/{ids['pizza']}").get_data(as_text=True)
    assert 'value="food, wrong"' in page and "Reviewed by root" in page
    assert listed(admin.get("/admin/?flagged=1")) == [ids["pizza"]]
    assert listed(admin.get("/admin/?unreviewed=1")) == [ids["greeting"], ids["old"]]
    assert admin.client.post(url, data={"flagged": "1"}).status_code == 403  # no CSRF token


def test_delete_needs_confirmation_and_csrf(seeded):
    admin, ids = seeded
    url = f"/admin/transcripts/{ids['pizza']}/delete"
    assert admin.client.post(url, data={"confirm": "yes"}).status_code == 403
    assert admin.post(url).status_code == 400  # not confirmed
    assert admin.post(url, {"confirm": "yes"}).status_code == 302
    assert admin.get(f"/admin/transcripts/{ids['pizza']}").status_code == 404
    assert listed(admin.get("/admin/?q=pineapple")) == []  # gone from the search index too
    with admin.app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Feedback)) == 1
    assert admin.post(url, {"confirm": "yes"}).status_code == 404


def test_jsonl_export_round_trips_through_the_training_loader(seeded, tmp_path):
    admin, ids = seeded
    response = admin.get("/admin/export.jsonl")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "export.jsonl"
    path.write_bytes(response.data)
    records = [line for line in response.get_data(as_text=True).splitlines() if line]
    assert len(records) == 3
    conversations = {c.id: c for c in load_transcripts(path)}
    pizza = conversations[str(ids["pizza"])]
    assert [t.speaker for t in pizza.turns] == ["user", "bot", "user", "bot"]
    assert pizza.turns[0].text == "Do you like pizza with pineapple?"
    assert [t.rating for t in pizza.turns] == [None, -1, None, None]
    assert conversations[str(ids["greeting"])].turns[1].rating == 1
    first = json.loads(records[0])
    assert set(first) == {"id", "created_at", "model_versions", "turns"}
    assert first["model_versions"] == ["v2"] and first["created_at"].startswith("2026-03-05T18")


def test_exports_follow_the_filters(seeded):
    admin, ids = seeded
    body = admin.get("/admin/export.jsonl?negative=1").get_data(as_text=True)
    assert [line for line in body.splitlines() if line] and f'"id": "{ids["pizza"]}"' in body
    assert len(body.splitlines()) == 1
    page = admin.get("/admin/?q=hello").get_data(as_text=True)
    assert 'href="/admin/export.csv?q=hello"' in page


def test_csv_export(seeded):
    admin, ids = seeded
    response = admin.get("/admin/export.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 8
    pizza = [r for r in rows if r["conversation_id"] == str(ids["pizza"])]
    assert [r["role"] for r in pizza] == ["user", "bot", "user", "bot"]
    assert pizza[1]["rating"] == "-1" and pizza[1]["model_version"] == "v2"
    assert pizza[1]["latency_ms"] == "42.0" and '"beam_width": 3' in pizza[1]["options"]
    assert pizza[2]["text"].startswith("'=HYPERLINK")  # not a formula in a spreadsheet


# -- PostgreSQL --------------------------------------------------------------------------------


def test_search_and_export_on_postgresql(make_app, admin_for, postgres_url):
    upgrade(postgres_url)
    app = make_app(DATABASE_URL=postgres_url)
    ids = seed(app)
    admin = admin_for(app)
    assert listed(admin.get("/admin/?q=pineapple")) == [ids["pizza"]]
    assert listed(admin.get("/admin/?q=PIZZA")) == [ids["pizza"]]
    for query in ("'; DROP TABLE messages; --", '"', "*", "(", "%", "\\", "\x00"):
        assert admin.get("/admin/", query_string={"q": query}).status_code == 200
    assert listed(admin.get("/admin/?negative=1&from=2026-03-01")) == [ids["pizza"]]
    rows = list(csv.reader(io.StringIO(admin.get("/admin/export.csv").get_data(as_text=True))))
    assert len(rows) == 9
    assert admin.post(f"/admin/transcripts/{ids['pizza']}/delete", {"confirm": "yes"}).status_code == 302
    assert listed(admin.get("/admin/?q=pineapple")) == []
    app.extensions["lembra.db"].kw["bind"].dispose()
