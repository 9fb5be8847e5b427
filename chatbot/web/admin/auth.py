"""Admin sign-in: the login form, logout, and the guard in front of every `/admin` URL.

The signed Flask session cookie holds the admin's id; it is HttpOnly, SameSite=Lax, Secure on
HTTPS, and expires after `ADMIN_SESSION_MINUTES` without a request (checked here as well, since a
stolen cookie would not expire by itself) and `ADMIN_SESSION_MAX_HOURS` after sign-in, however
busy. It also holds the admin's session epoch: logout and a password change move the epoch on,
which ends every session of that admin, copied cookies included. Logging in starts a fresh
session (no fixation). Only POST signs in (HEAD and GET never check a password).
Every state-changing `/admin` request, the login form included, needs the CSRF token: the
HMAC of `security.csrf_token` over a random nonce kept in the session, sent as the `csrf_token`
form field or the `X-CSRF-Token` header. `flask --app app create-admin NAME` makes an account.
"""

from __future__ import annotations

import hmac
import secrets
import sys
import time
from urllib.parse import urlsplit

import click
from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.cli import with_appcontext
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from chatbot.storage.accounts import LOCKOUT, AccountError, authenticate, end_sessions, set_admin
from chatbot.storage.db import AdminUser
from chatbot.web.database import get_session
from chatbot.web.security import CSRF_HEADER, UNSAFE_METHODS, csrf_token

bp = Blueprint("admin_auth", __name__, url_prefix="/admin")
PREFIX = "/admin"
PUBLIC_ENDPOINTS = frozenset({"admin_auth.login"})


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        from flask import has_request_context

        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def admin_csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_hex(16)
    return csrf_token("admin:" + session["csrf"])


def _sent_token(req: Request) -> str:
    return req.form.get("csrf_token") or req.headers.get(CSRF_HEADER, "")


def current_admin() -> AdminUser | None:
    """The signed-in admin, or None (no session, expired, or the account is gone)."""
    if "admin" in g:
        return g.admin
    g.admin = None
    admin_id, seen = session.get("admin_id"), session.get("admin_seen", 0)
    now = time.time()
    idle = current_app.config["ADMIN_SESSION_MINUTES"] * 60
    absolute = current_app.config["ADMIN_SESSION_MAX_HOURS"] * 3600
    if (admin_id is not None and now - seen <= idle
            and now - session.get("admin_since", 0) <= absolute):
        admin = get_session().get(AdminUser, admin_id)
        if admin is not None and admin.session_epoch == session.get("admin_epoch"):
            g.admin = admin
    if g.admin is None and admin_id is not None:
        session.clear()
    elif g.admin is not None:
        session["admin_seen"] = int(time.time())
    return g.admin


def _refuse() -> BaseResponse | tuple[Response, int]:
    if request.path.startswith(PREFIX + "/api/") or request.method != "GET":
        return jsonify(error="sign in as an admin first"), 401
    return redirect(url_for("admin_auth.login", next=request.full_path.rstrip("?")))


def guard() -> BaseResponse | tuple[Response, int] | None:
    """Before every request: `/admin` needs a signed-in admin, and unsafe methods the token."""
    if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
        return None
    if request.endpoint not in PUBLIC_ENDPOINTS and current_admin() is None:
        return _refuse()
    if request.method in UNSAFE_METHODS:
        expected = csrf_token("admin:" + session.get("csrf", ""))
        if "csrf" not in session or not hmac.compare_digest(_sent_token(request), expected):
            abort(403, description=_("The form expired or came from another site; try again."))
    return None


def _safe_next(target: str | None) -> str:
    """Only a path on this site, under /admin (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith(PREFIX + "/"):
            return target
    return url_for("admin_transcripts.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    if request.method != "POST":  # GET, and HEAD: only a POST (CSRF-checked, limited) signs in
        if current_admin() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("admin/login.html", next=request.args.get("next", ""))
    result = authenticate(get_session(), request.form.get("name", ""),
                          request.form.get("password", ""))
    if result.admin is None:  # one reply for a wrong name, a wrong password and a lockout,
        error = _("Wrong name or password, or too many failed attempts (then the account "
                  "is locked for %(minutes)d minutes).", minutes=LOCKOUT.seconds // 60)
        return render_template("admin/login.html", error=error,
                               next=request.form.get("next", "")), 401
    session.clear()  # a new session on login: nothing from before survives
    session.permanent = True
    now = int(time.time())
    session.update(admin_id=result.admin.id, admin_seen=now, admin_since=now,
                   admin_epoch=result.admin.session_epoch, csrf=secrets.token_hex(16))
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> BaseResponse:
    admin = current_admin()
    if admin is not None:
        end_sessions(get_session(), admin.id)  # every device, and any copy of this cookie
    session.clear()
    return redirect(url_for("admin_auth.login"))


# -- the create-admin command -------------------------------------------------------------------


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")  # piped: `printf '%s\n' "$PW" | flask create-admin`


@click.command("create-admin")
@click.argument("name")
@click.option("--reset", is_flag=True, help="Change the password of an existing admin.")
@with_appcontext
def create_admin_command(name: str, reset: bool) -> None:
    """Create an admin account; the password is prompted for, or read from stdin when piped."""
    try:
        admin = set_admin(get_session(), name, _read_password(), replace=reset)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"admin {admin.name!r} {'updated' if reset else 'created'}")
