"""Anonymous visitors: a signed cookie gives each browser a stable id, and nothing else.

The cookie holds a random id signed with SECRET_KEY (itsdangerous), so a visitor cannot claim
someone else's id; every conversation belongs to one visitor id and queries filter by it.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "lembra_visitor"
MAX_AGE = 365 * 24 * 3600


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="lembra.visitor")


def cookie_visitor() -> str | None:
    """The visitor id from a validly signed cookie, or None."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and value else None


def current_visitor() -> str:
    """This request's visitor id; a new one (sent back as a cookie) when there is none yet."""
    if "visitor_id" not in g:
        visitor = cookie_visitor()
        g.new_visitor = visitor is None
        g.visitor_id = visitor or secrets.token_hex(16)
    return g.visitor_id


def _set_cookie(response: Response) -> Response:
    if g.get("new_visitor"):
        response.set_cookie(
            COOKIE, _serializer().dumps(g.visitor_id), max_age=MAX_AGE, httponly=True,
            samesite="Lax", secure=request.is_secure or current_app.config["PRODUCTION"])
    return response


def init_app(app: Flask) -> None:
    app.after_request(_set_cookie)
