"""Rate limits on chat (Flask-Limiter): one bucket for every request that runs the model
(posting, regenerating and editing together), counted per visitor and per client address, and answered
with a 429 in the page's language that says when to try again.

Both counts hold across gunicorn workers: by default they live in a SQLite file beside the
database (`chatbot.web.limit_store`), which every worker on the machine opens;
`RATELIMIT_STORAGE_URI=redis://...` shares them between machines instead. The address limit is
what stops a client from multiplying its budget by minting new visitor cookies.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.engine import make_url

from chatbot.storage.db import sqlite_file
from chatbot.web import limit_store
from chatbot.web.errors import http_error
from chatbot.web.visitor import cookie_visitor

LIMITED_VIEWS = ("api.post_message", "api.regenerate_reply", "api.edit_message")  # every answer
CHAT_SCOPE = "chat"  # the one bucket the limited views share


def client_address() -> str:
    """The client's address (the proxy's X-Forwarded-For once LEMBRA_PROXY_HOPS trusts it)."""
    return request.remote_addr or "unknown"


def _visitor_key() -> str:
    visitor = cookie_visitor()
    return f"visitor:{visitor}" if visitor else f"address:{client_address()}"


def _address_key() -> str:
    return f"address:{client_address()}"


def default_storage_uri(app: Flask) -> str:
    """A SQLite file every worker of this deployment opens: beside a SQLite database, else in the
    instance folder."""
    url = make_url(app.config["DATABASE_URL"])
    database = sqlite_file(url)
    if url.get_backend_name() == "sqlite" and database:
        path = Path(database).with_name(Path(database).name + "-ratelimits")
    else:
        path = Path(app.instance_path) / "ratelimits.db"
    return f"{limit_store.SCHEME}:///{path.resolve()}"


def retry_seconds() -> int:
    """Seconds until the breached limit lets this client through again (at least 1)."""
    limiter = current_app.extensions.get("lembra.limiter")
    limit = limiter.current_limit if limiter is not None else None
    return max(1, math.ceil(limit.reset_at - time.time())) if limit is not None else 60


def _too_many(exc: RateLimitExceeded):
    exc.description = _("Too many requests: please try again in %(seconds)d s.",
                        seconds=retry_seconds())
    return http_error(exc)


def init_app(app: Flask) -> None:
    """Attach a limiter to this app and limit the views that run the model."""
    storage_uri = app.config["RATELIMIT_STORAGE_URI"] or default_storage_uri(app)
    # A store that cannot be written (a full disk) limits in memory instead of failing requests.
    limiter = Limiter(_visitor_key, app=app, storage_uri=storage_uri, headers_enabled=True,
                      swallow_errors=True, in_memory_fallback_enabled=True)
    per_visitor = limiter.shared_limit(lambda: current_app.config["RATELIMIT_CHAT"], CHAT_SCOPE,
                                       key_func=_visitor_key)
    per_address = limiter.shared_limit(lambda: current_app.config["RATELIMIT_CHAT_ADDRESS"],
                                       CHAT_SCOPE + "-address", key_func=_address_key)
    for endpoint in LIMITED_VIEWS:
        app.view_functions[endpoint] = per_address(per_visitor(app.view_functions[endpoint]))
    app.register_error_handler(RateLimitExceeded, _too_many)
    app.extensions["lembra.limiter"] = limiter
