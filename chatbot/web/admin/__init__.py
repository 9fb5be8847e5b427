"""The admin area at `/admin`: sign-in, transcript review, dashboard and models.

One blueprint per page family (`auth`, `transcripts`, `dashboard`, `models`), all behind
`auth.guard`, which runs before every request whose path starts with /admin.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request

from chatbot.web.admin import auth, dashboard, models, transcripts


def _login_address() -> str:
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    """Register the admin blueprints, the login limit and the create-admin command."""
    app.session_interface = auth.SessionInterface()
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        minutes=app.config["ADMIN_SESSION_MINUTES"])
    app.before_request(auth.guard)
    for module in (auth, transcripts, dashboard, models):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["admin_csrf_token"] = auth.admin_csrf_token

    limiter = app.extensions.get("lembra.limiter")
    if limiter is not None:  # failed and successful attempts alike, per address
        view = app.view_functions["admin_auth.login"]
        app.view_functions["admin_auth.login"] = limiter.limit(
            lambda: app.config["RATELIMIT_LOGIN"], key_func=_login_address,
            methods=["POST"])(view)
    app.cli.add_command(auth.create_admin_command)
