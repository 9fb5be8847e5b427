"""The dashboard: traffic, reply latency and feedback per model version, as inline SVG charts,
and the same numbers as JSON at `/admin/api/stats`."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request

from chatbot.admin_stats import dashboard as compute
from chatbot.db import get_session
from chatbot.web import admin_charts

bp = Blueprint("admin_dashboard", __name__, url_prefix="/admin")
DAY_CHOICES = (7, 30, 90)


def _days() -> int:
    days = request.args.get("days", 30, type=int)
    return days if days in DAY_CHOICES else 30


@bp.get("/dashboard")
def dashboard() -> str:
    days = _days()
    stats = compute(get_session(), days)
    charts = {
        "conversations": admin_charts.bar_chart(stats.days, stats.conversations),
        "messages": admin_charts.bar_chart(stats.days, stats.messages),
        "latency": admin_charts.line_chart(stats.days, {"p50": stats.latency_p50,
                                                        "p95": stats.latency_p95}),
        "feedback": admin_charts.ratio_bars(stats.feedback),
    }
    return render_template("admin/dashboard.html", stats=stats, charts=charts, days=days,
                           day_choices=DAY_CHOICES)


@bp.get("/api/stats")
def stats() -> Response:
    return jsonify(compute(get_session(), _days()).to_json())
