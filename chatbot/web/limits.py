"""Rate limits on chat (Flask-Limiter), keyed by visitor, answered with a JSON 429.

`RATELIMIT_STORAGE_URI` defaults to per-process memory; with several gunicorn workers use a shared
store such as `redis://` so the workers agree.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter

from chatbot.web.visitor import cookie_visitor

LIMITED_VIEWS = ("api.post_message", "api.regenerate_reply")


def _key() -> str:
    return cookie_visitor() or request.remote_addr or "unknown"


def _chat_limit() -> str:
    return current_app.config["RATELIMIT_CHAT"]


def init_app(app: Flask) -> None:
    """Attach a limiter to this app and limit the views that run the model."""
    limiter = Limiter(_key, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"],
                      headers_enabled=True)
    for endpoint in LIMITED_VIEWS:
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(_chat_limit)(view)
    app.extensions["lembra.limiter"] = limiter
