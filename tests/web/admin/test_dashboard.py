"""The dashboard: numbers per day, latency percentiles, feedback per model, and SVG charts
drawn on the server (no script, no CDN)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chatbot.storage.db import Conversation, Feedback, Message, utcnow
from chatbot.storage.stats import dashboard
from chatbot.web.database import get_session


def seed(app) -> None:
    today = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    with app.app_context():
        session = get_session()
        for days_ago, latencies, model, ratings in [
            (0, [10.0, 20.0, 30.0, 400.0], "v2", [1, -1, -1]),
            (2, [50.0], "v1", [1]),
            (40, [999.0], "v1", [1]),  # outside a 30-day window
        ]:
            when = today - timedelta(days=days_ago)
            conversation = Conversation(visitor_id="v", title="t", created_at=when, updated_at=when)
            for i, latency in enumerate(latencies):
                conversation.messages.append(Message(role="user", text="hi", created_at=when))
                reply = Message(role="bot", text="hey", created_at=when, model_version=model,
                                latency_ms=latency)
                if i < len(ratings):
                    reply.feedback = Feedback(rating=ratings[i])
                conversation.messages.append(reply)
            session.add(conversation)
        session.commit()


def test_dashboard_numbers(app):
    seed(app)
    with app.app_context():
        stats = dashboard(get_session(), days=30)
    assert len(stats.days) == 30 and stats.days[-1] == utcnow().date().isoformat()
    assert stats.conversations[-1] == 1 and stats.conversations[-3] == 1 and sum(stats.conversations) == 2
    assert stats.messages[-1] == 8 and sum(stats.messages) == 10
    # Linear between ranks, as numpy and the benchmarks compute it.
    assert stats.latency_p50[-1] == 25.0 and stats.latency_p95[-1] == pytest.approx(344.5)
    assert stats.latency_p50[-2] is None
    assert stats.overall_p50 == 30.0
    # Feedback counts every rating, whatever its date.
    assert stats.feedback == [{"model": "v1", "up": 2, "down": 0, "ratio": 1.0},
                              {"model": "v2", "up": 1, "down": 2, "ratio": 0.333}]


def test_dashboard_page_draws_svg_charts(app, admin_for):
    seed(app)
    response = admin_for(app).get("/admin/dashboard?days=7")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for chart in ("chart-conversations", "chart-messages", "chart-latency", "chart-feedback"):
        assert f'id="{chart}"' in page
    assert page.count('class="bar"') == 14  # one bar per day, two charts
    assert "<polyline" in page and 'class="up"' in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing from elsewhere
    assert "<script>" not in page


def test_stats_api(app, admin_for):
    seed(app)
    body = admin_for(app).get("/admin/api/stats?days=90").get_json()
    assert len(body["days"]) == 90 and sum(body["conversations"]) == 3
    assert {row["model"] for row in body["feedback"]} == {"v1", "v2"}


def test_empty_dashboard(app, admin_for):
    assert admin_for(app).get("/admin/dashboard").status_code == 200
    with app.app_context():
        stats = dashboard(get_session(), days=7, today=date(2026, 1, 7))
    assert stats.days[0] == "2026-01-01" and stats.overall_p95 is None
    assert datetime(2026, 1, 1, tzinfo=UTC).date().isoformat() == stats.days[0]
