"""Triage: pending suggestions (column, filter, count, queue), corrections reviewers write,
confidence sort and filters, kept regenerated replies, previous/next links that keep the filters,
what the inbox says about filters it ignored, and the decoding options that applied."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from chatbot.storage.db import Conversation, Correction, Message
from chatbot.web.database import get_session

DAY = datetime(2026, 4, 1, 9, tzinfo=UTC)
SAMPLED = {"mode": "sample", "temperature": 0.7, "top_k": 0, "top_p": 0.9, "seed": 5,
           "beam_width": 4, "length_penalty": 0.6, "candidates": 8, "min_len": 2, "max_len": 40,
           "no_repeat_ngram": 3, "repetition_penalty": 1.0}


def add(session, visitor: str, turns: list, hours: int) -> Conversation:
    """turns: ("user", text) or ("bot", text, confidence); a bot tuple with a fourth item
    "regenerated" is stored as a reply the next bot turn replaced."""
    when = DAY + timedelta(hours=hours)
    conversation = Conversation(visitor_id=visitor, title=turns[0][1], created_at=when,
                                updated_at=when)
    session.add(conversation)
    session.flush()
    replaced = None
    for turn in turns:
        message = Message(conversation_id=conversation.id, role=turn[0], text=turn[1],
                          created_at=when)
        if turn[0] == "bot":
            message.model_version, message.options, message.confidence = "v1", SAMPLED, turn[2]
        session.add(message)
        session.flush()
        if replaced is not None:
            replaced.superseded_by_id, replaced = message.id, None
        if len(turn) > 3:
            replaced = message
    session.commit()
    return conversation


@pytest.fixture
def triage(app, admin_for):
    with app.app_context():
        session = get_session()
        sure = add(session, "aaaa1111", [("user", "hello"), ("bot", "hi there", -0.5)], 1)
        unsure = add(session, "bbbb2222", [
            ("user", "what is love"), ("bot", "zebra zebra", -4.2, "regenerated"),
            ("bot", "a feeling", -2.0), ("user", "and?"), ("bot", "yes", -1.0)], 2)
        unscored = add(session, "aaaa3333", [("user", "old one"), ("bot", "ok", None)], 0)
        reply = session.scalar(select(Message).where(Message.text == "a feeling"))
        session.add(Correction(message_id=reply.id, text="a strong feeling of affection"))
        session.commit()
        ids = {"sure": sure.id, "unsure": unsure.id, "unscored": unscored.id, "reply": reply.id}
    return admin_for(app), ids


def listed(response) -> list[int]:
    return [int(i) for i in re.findall(r'class="transcript-link" href="/admin/transcripts/(\d+)[?"]',
                                       response.get_data(as_text=True))]


def test_least_confident_first_and_the_triage_filters(triage):
    admin, ids = triage
    assert listed(admin.get("/admin/")) == [ids["unsure"], ids["sure"], ids["unscored"]]
    # the superseded -4.2 does not count: the visitor no longer sees that reply
    assert listed(admin.get("/admin/?sort=confidence")) == [ids["unsure"], ids["sure"],
                                                            ids["unscored"]]
    # below is a share: exp(-2.0) = 0.14 is unsure, exp(-1.0) = 0.37 fairly sure, exp(-0.5) = 0.61 sure
    assert listed(admin.get("/admin/?below=0.25")) == [ids["unsure"]]
    assert listed(admin.get("/admin/?below=0.5")) == [ids["unsure"]]
    assert listed(admin.get("/admin/?below=0.7&sort=confidence")) == [ids["unsure"], ids["sure"]]
    assert listed(admin.get("/admin/?below=0")) == []
    assert listed(admin.get("/admin/?below=7")) == [ids["unsure"], ids["sure"]]
    assert listed(admin.get("/admin/?min=3")) == [ids["unsure"]]  # 4 shown, 5 stored
    assert listed(admin.get("/admin/?max=4&min=4")) == [ids["unsure"]]
    assert listed(admin.get("/admin/?max=2")) == [ids["sure"], ids["unscored"]]
    assert listed(admin.get("/admin/?regenerated=1")) == [ids["unsure"]]
    assert listed(admin.get("/admin/?visitor=aaaa")) == [ids["sure"], ids["unscored"]]
    assert listed(admin.get("/admin/?visitor=a%25")) == []  # LIKE wildcards are just text
    assert listed(admin.get("/admin/?pending=1")) == [ids["unsure"]]


def test_inbox_columns_and_navigation_count(triage):
    admin, ids = triage
    page = admin.get("/admin/").get_data(as_text=True)
    row = page[page.index(f'data-id="{ids["unsure"]}"'):]
    row = row[: row.index("</tr>")]
    assert "regenerated ×1" in row and 'status-pending">1<' in row
    assert 'data-share="0.135" title="14% (how sure the model was of each piece, on average)">unsure<' in row
    assert re.search(r'id="nav-suggestions"[^>]*>Suggestions <span class="count waiting"[^>]*>1<', page)


def test_ignored_filters_are_said_and_links_keep_filters(triage):
    admin, ids = triage
    page = admin.get("/admin/?from=2026-05-01&to=2026-04-01").get_data(as_text=True)
    assert "ends before it starts" in page and len(listed_page(page)) == 3
    page = admin.get("/admin/?from=yesterday&min=lots").get_data(as_text=True)
    assert "“yesterday” is not a date" in page and "“lots” is not a number" in page
    page = admin.get("/admin/?q=nothing-matches-this").get_data(as_text=True)
    assert "export.jsonl" not in page and "export.csv" not in page
    page = admin.get("/admin/?visitor=aaaa").get_data(as_text=True)
    assert f'/admin/transcripts/{ids["sure"]}?visitor=aaaa' in page


def listed_page(page: str) -> list[str]:
    return re.findall(r'class="transcript-link"', page)


def test_previous_and_next_follow_the_filtered_order(triage):
    admin, ids = triage
    page = admin.get(f"/admin/transcripts/{ids['sure']}?visitor=aaaa").get_data(as_text=True)
    assert 'id="previous"' not in page
    assert re.search(rf'id="next" rel="next" href="/admin/transcripts/{ids["unscored"]}\?visitor=aaaa"', page)
    page = admin.get(f"/admin/transcripts/{ids['sure']}?sort=confidence").get_data(as_text=True)
    assert f'href="/admin/transcripts/{ids["unsure"]}?sort=confidence"' in page  # previous
    response = admin.post(f"/admin/transcripts/{ids['sure']}/review",
                          {"reviewed": "1", "keep": "visitor=aaaa"})
    assert response.headers["Location"].endswith(f"/admin/transcripts/{ids['sure']}?visitor=aaaa")


def test_regenerated_replies_are_collapsed_under_the_final_one(triage):
    admin, ids = triage
    page = admin.get(f"/admin/transcripts/{ids['unsure']}").get_data(as_text=True)
    final = page.index('<p class="text">a feeling</p>')
    versions = page.index('<details class="reply-versions">')
    assert final < versions < page.index("zebra zebra") < page.index('<p class="text">and?</p>')
    assert "asked for another answer 1 time" in page and "Messages: 4" in page


def test_only_the_options_that_applied_are_listed(triage):
    admin, ids = triage
    page = admin.get(f"/admin/transcripts/{ids['sure']}").get_data(as_text=True)
    assert "<code>mode=sample</code>" in page and "<code>temperature=0.7</code>" in page
    assert "beam_width" not in page and "length_penalty" not in page and "candidates=" not in page


def test_a_reviewer_writes_a_correction_that_becomes_the_training_target(triage):
    admin, ids = triage
    with admin.app.app_context():
        reply_id = get_session().scalar(select(Message.id).where(Message.text == "yes"))
    url = f"/admin/messages/{reply_id}/correction"
    assert admin.post(url, {"text": "   "}).status_code == 422
    assert admin.client.post(url, data={"text": "x"}).status_code == 403  # no CSRF token
    with admin.app.app_context():
        user_id = get_session().scalar(select(Message.id).where(Message.text == "and?"))
    assert admin.post(f"/admin/messages/{user_id}/correction", {"text": "x"}).status_code == 404
    response = admin.post(url, {"text": "Yes, and it lasts."})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#m{reply_id}")
    with admin.app.app_context():
        written = get_session().scalar(select(Correction).where(Correction.message_id == reply_id))
        assert (written.status, written.written_by, written.reviewed_by) == ("accepted", "root",
                                                                             "root")
    page = admin.get(f"/admin/transcripts/{ids['unsure']}").get_data(as_text=True)
    assert "written by root" in page
    record = json.loads(admin.get("/admin/export.jsonl?regenerated=1").get_data(as_text=True))
    assert [t["text"] for t in record["turns"]] == ["what is love", "a feeling", "and?", "yes"]
    assert record["turns"][3]["correction"] == "Yes, and it lasts."
    assert "correction" not in record["turns"][1]  # the visitor's suggestion is still pending


def test_the_queue_walks_through_pending_suggestions(triage):
    admin, ids = triage
    with admin.app.app_context():
        session = get_session()
        other = session.scalar(select(Message).where(Message.text == "hi there"))
        session.add(Correction(message_id=other.id, text="hello! nice to meet you"))
        session.commit()
    page = admin.get("/admin/suggestions").get_data(as_text=True)
    assert "2 suggestions wait" in page and "a strong feeling of affection" in page
    assert "what is love" in page and 'id="queue-reply">a feeling<' in page  # its context
    assert "Keys: a accept, r reject, s skip for now." in page
    first = int(re.search(r'/admin/corrections/(\d+)/accept', page).group(1))
    response = admin.post(f"/admin/corrections/{first}/accept",
                          {"text": "a strong feeling of deep affection", "next": "queue"})
    assert response.headers["Location"].endswith(f"/admin/suggestions?after={first}")
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 suggestion waits" in page and "hello! nice to meet you" in page
    second = int(re.search(r'/admin/corrections/(\d+)/reject', page).group(1))
    admin.post(f"/admin/corrections/{second}/reject", {"next": "queue"})
    page = admin.get("/admin/suggestions").get_data(as_text=True)
    assert 'id="queue-empty"' in page and re.search(r'class="count"[^>]*>0<', page)
    with admin.app.app_context():
        rows = get_session().scalars(select(Correction).where(
            Correction.message_id == ids["reply"]).order_by(Correction.id)).all()
        # the visitor's words are kept; the edited answer is the newer accepted one
        assert [(c.text, c.status, c.written_by) for c in rows] == [
            ("a strong feeling of affection", "accepted", None),
            ("a strong feeling of deep affection", "accepted", "root")]
    record = json.loads(admin.get("/admin/export.jsonl?regenerated=1").get_data(as_text=True))
    assert record["turns"][1]["correction"] == "a strong feeling of deep affection"
    transcript = admin.get(f"/admin/transcripts/{ids['unsure']}").get_data(as_text=True)
    assert "accepted by root" in transcript  # with the review's time, not the suggestion's
    with admin.app.app_context():
        reviewed = get_session().get(Correction, first).reviewed_at
    assert f'class="reviewed-at" datetime="{reviewed.isoformat()}"' in transcript


def test_confidence_reads_as_the_visitor_reads_it(triage):
    """One scale with the visitor's panel: a word, and the share on hover, never a log-probability."""
    admin, ids = triage
    inbox = admin.get("/admin/").get_data(as_text=True)
    assert re.search(r'<span class="confidence-level" data-share="0.135" title="14% [^"]*">unsure</span>',
                     inbox)
    assert re.search(r'data-share="0.607" title="61% [^"]*">sure</span>', inbox)
    assert "-2.00" not in inbox and "-0.50" not in inbox
    page = admin.get(f"/admin/transcripts/{ids['unsure']}").get_data(as_text=True)
    assert re.search(r'data-share="0.368" title="37% [^"]*">fairly sure</span>', page)
    assert re.search(r'confidence: <span class="confidence-level" data-share="0.015"', page)  # replaced
    assert "-4.20" not in page
    assert '<option value="0.25" selected>' in admin.get("/admin/?below=0.25").get_data(as_text=True)


def test_csv_has_confidence_versions_correction_flag_and_tags(triage):
    admin, ids = triage
    admin.post(f"/admin/transcripts/{ids['unsure']}/review", {"flagged": "1", "tags": "love"})
    admin.post(f"/admin/messages/{ids['reply']}/correction", {"text": "affection"})
    rows = list(csv.DictReader(io.StringIO(admin.get("/admin/export.csv?regenerated=1")
                                           .get_data(as_text=True))))
    assert [r["text"] for r in rows] == ["what is love", "zebra zebra", "a feeling", "and?", "yes"]
    assert rows[1]["superseded_by"] == rows[2]["message_id"] and rows[2]["superseded_by"] == ""
    assert (rows[1]["confidence"], rows[1]["confidence_level"]) == ("0.015", "unsure")  # exp(-4.2)
    assert (rows[2]["confidence"], rows[2]["confidence_level"]) == ("0.135", "unsure")
    assert rows[0]["confidence"] == rows[0]["confidence_level"] == ""  # the visitor's turn
    assert rows[2]["accepted_correction"] == "affection"
    assert {(r["flagged"], r["tags"]) for r in rows} == {("1", "love")}


def test_jsonl_exports_download_under_different_names(triage):
    admin, _ = triage
    full = admin.get("/admin/export.jsonl").headers["Content-Disposition"]
    text_only = admin.get("/admin/export.jsonl?text_only=1").headers["Content-Disposition"]
    assert full != text_only and "text-only" in text_only


def test_a_wrong_password_keeps_the_name(app, admin_for):
    admin = admin_for(app, login=False)
    page = admin.login(password="not the password", name='root"><b>x').get_data(as_text=True)
    assert 'value="root&#34;&gt;&lt;b&gt;x"' in page and "<b>x" not in page
    assert re.search(r'id="password"[^>]*autofocus', page)
