"""`GET /healthz`: 200 when the model is loaded and the database answers, else 503 with reasons.

Load balancers and `make run` poll it; it never runs the model, so it is cheap.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from chatbot.storage.db import ping
from chatbot.web.database import get_session
from chatbot.web.serving import model_status

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    loaded, model = model_status()
    database = ping(get_session())
    ok = loaded and database
    body = {"status": "ok" if ok else "unavailable", "model_loaded": loaded,
            "database": "ok" if database else "unreachable"}
    body["model_version" if loaded else "model_error"] = model
    if not ok:
        problems = ([] if loaded else [f"model: {model}"]) + (
            [] if database else ["database unreachable"])
        body["error"] = "; ".join(problems)
    return jsonify(body), 200 if ok else 503
