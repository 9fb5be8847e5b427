"""`GET /healthz`: 200 when the model is loaded and the database answers and can take writes,
else 503 with reasons.

Load balancers and `make run` poll it; it never runs the model, so it is cheap.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from chatbot.storage.db import ping, write_problem
from chatbot.web.database import get_session
from chatbot.web.serving import model_status

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    loaded, model = model_status()
    # A database that answers reads may still refuse every write (a full disk, read-only).
    database = "ok" if ping(get_session()) else "unreachable"
    if database == "ok":
        database = write_problem(current_app.config["DATABASE_URL"]) or "ok"
    ok = loaded and database == "ok"
    body = {"status": "ok" if ok else "unavailable", "model_loaded": loaded, "database": database}
    body["model_version" if loaded else "model_error"] = model
    if not ok:
        problems = ([] if loaded else [f"model: {model}"]) + (
            [] if database == "ok" else [f"database {database}"])
        body["error"] = "; ".join(problems)
    return jsonify(body), 200 if ok else 503
