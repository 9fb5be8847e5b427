"""Security headers on every response, and a CSRF header token for the page's JSON requests.

The CSP allows scripts and styles from this origin only (no inline script, no CDN). The CSRF
token is an HMAC of the visitor id: stateless, tied to the cookie, and checked on every
state-changing API request (a browser would attach that cookie to a forged cross-site request;
it cannot read the token from our page). A state-changing request without a valid visitor cookie
is refused too, and gets no new cookie: answering it with a fresh identity would let one
cross-site POST replace a visitor's cookie and so lose them their conversations.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, abort, current_app, request

from chatbot.web.visitor import cookie_visitor

CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = ("default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
       "frame-ancestors 'none'; form-action 'self'")


def csrf_token(visitor_id: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"csrf:" + visitor_id.encode(), hashlib.sha256).hexdigest()


def check_csrf() -> None:
    """Reject a cookie-authenticated state-changing API request without the right token."""
    if request.method not in UNSAFE_METHODS or not request.path.startswith("/api/"):
        return
    visitor = cookie_visitor()
    if visitor is None:  # a fresh identity here would replace a victim's cookie (cross-site POST)
        abort(403, description="no valid visitor cookie: GET /api/csrf (or the page) first, "
                               "then send its token in the X-CSRF-Token header")
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent, csrf_token(visitor)):
        abort(403, description="missing or invalid CSRF token (send the X-CSRF-Token header)")


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":  # pages and JSON hold one visitor's or admin's data
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_csrf)
    app.after_request(security_headers)
