"""The dashboard's numbers: traffic per day, reply latency percentiles, and per model version the
replies, their mean length in words and the thumbs up/down they got (so a fine-tuned model can be
compared with its parent by how people rate it).

Days are UTC. Grouping by day uses SQL `date()`, which SQLite and PostgreSQL both have; the
percentiles are computed here (`chatbot.percentile`) so they are the same on both backends. Words are
counted in SQL as spaces + 1 (the bot's replies are detokenized with single spaces).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from chatbot.percentile import percentile
from chatbot.storage.db import Conversation, Feedback, Message, utcnow
from chatbot.storage.search import day_start


@dataclass
class Stats:
    days: list[str]
    conversations: list[int]
    messages: list[int]
    latency_p50: list[float | None]
    latency_p95: list[float | None]
    overall_p50: float | None
    overall_p95: float | None
    feedback: list[dict]  # {"model", "up", "down", "ratio"} per model version
    models: list[dict]  # {"model", "replies", "mean_words", "up", "down", "ratio"} per version

    def to_json(self) -> dict:
        return self.__dict__.copy()


def _per_day(session: Session, column, since, *where) -> dict[str, int]:
    day = func.date(column)
    rows = session.execute(select(day, func.count()).where(column >= since, *where).group_by(day))
    return {str(d)[:10]: n for d, n in rows}


def per_model(session: Session, feedback: list[dict]) -> list[dict]:
    """Every model version that replied: how many replies, their mean words, and feedback."""
    words = func.length(Message.text) - func.length(func.replace(Message.text, " ", "")) + 1
    rated = {row["model"]: row for row in feedback}
    rows = []
    for model, replies, mean_words in session.execute(
            select(Message.model_version, func.count(), func.avg(words))
            .where(Message.role == "bot").group_by(Message.model_version)
            .order_by(Message.model_version)):
        name = model or "unknown"
        votes = rated.get(name, {"up": 0, "down": 0, "ratio": None})
        rows.append({"model": name, "replies": int(replies),
                     "mean_words": round(float(mean_words), 2) if mean_words is not None else None,
                     "up": votes["up"], "down": votes["down"], "ratio": votes["ratio"]})
    return rows


def dashboard(session: Session, days: int = 30, today: date | None = None) -> Stats:
    """The last `days` days up to `today` (UTC)."""
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    since = day_start(first)
    labels = [(first + timedelta(i)).isoformat() for i in range(days)]
    conversations = _per_day(session, Conversation.created_at, since)
    messages = _per_day(session, Message.created_at, since)

    latencies: dict[str, list[float]] = defaultdict(list)
    for created, latency in session.execute(
            select(Message.created_at, Message.latency_ms).where(
                Message.created_at >= since, Message.role == "bot",
                Message.latency_ms.is_not(None))):
        latencies[created.date().isoformat()].append(latency)
    every = [v for values in latencies.values() for v in values]

    up = func.sum(case((Feedback.rating > 0, 1), else_=0))
    down = func.sum(case((Feedback.rating < 0, 1), else_=0))
    feedback = []
    for model, n_up, n_down in session.execute(
            select(Message.model_version, up, down).join(Feedback, Feedback.message_id == Message.id)
            .group_by(Message.model_version).order_by(Message.model_version)):
        n_up, n_down = int(n_up or 0), int(n_down or 0)
        feedback.append({"model": model or "unknown", "up": n_up, "down": n_down,
                         "ratio": round(n_up / (n_up + n_down), 3) if n_up + n_down else None})
    return Stats(
        days=labels,
        models=per_model(session, feedback),
        conversations=[conversations.get(d, 0) for d in labels],
        messages=[messages.get(d, 0) for d in labels],
        latency_p50=[percentile(latencies.get(d, []), 50) for d in labels],
        latency_p95=[percentile(latencies.get(d, []), 95) for d in labels],
        overall_p50=percentile(every, 50),
        overall_p95=percentile(every, 95),
        feedback=feedback,
    )
