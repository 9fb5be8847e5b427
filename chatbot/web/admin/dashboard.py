"""The dashboard: traffic, reply latency and feedback per model version, as inline SVG charts,
and the same numbers as JSON at `/admin/api/stats`."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request

from chatbot.storage import stats
from chatbot.web.admin import charts
from chatbot.web.database import get_session

bp = Blueprint("admin_dashboard", __name__, url_prefix="/admin")
DAY_CHOICES = (7, 30, 90)


def _days() -> int:
    days = request.args.get("days", 30, type=int)
    return days if days in DAY_CHOICES else 30


@bp.get("/dashboard")
def dashboard() -> str:
    days = _days()
    numbers = stats.dashboard(get_session(), days)
    drawn = {
        "conversations": charts.bar_chart(numbers.days, numbers.conversations),
        "messages": charts.bar_chart(numbers.days, numbers.messages),
        "latency": charts.line_chart(numbers.days, {"p50": numbers.latency_p50,
                                                    "p95": numbers.latency_p95}),
        "feedback": charts.ratio_bars(numbers.feedback),
    }
    return render_template("admin/dashboard.html", stats=numbers, charts=drawn, days=days,
                           day_choices=DAY_CHOICES)


@bp.get("/api/stats", endpoint="stats")
def stats_json() -> Response:
    return jsonify(stats.dashboard(get_session(), _days()).to_json())
