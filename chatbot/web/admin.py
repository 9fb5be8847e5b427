"""The admin area at `/admin`: sign-in, transcript review, dashboard and models.

One blueprint per concept (admin_auth, admin_transcripts, admin_dashboard, admin_models), all
behind `admin_auth.guard`, which runs before every request whose path starts with /admin.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request

from chatbot import model_registry
from chatbot.admin_accounts import create_admin_command


def _login_address() -> str:
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    """Register the admin blueprints, the login limit, the CLI command and the model watcher."""
    from chatbot.web import admin_auth, admin_dashboard, admin_models, admin_transcripts

    app.session_interface = admin_auth.SessionInterface()
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        minutes=app.config["ADMIN_SESSION_MINUTES"])
    app.before_request(admin_auth.guard)
    for module in (admin_auth, admin_transcripts, admin_dashboard, admin_models):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["admin_csrf_token"] = admin_auth.admin_csrf_token

    limiter = app.extensions.get("lembra.limiter")
    if limiter is not None:  # failed and successful attempts alike, per address
        view = app.view_functions["admin_auth.login"]
        app.view_functions["admin_auth.login"] = limiter.limit(
            lambda: app.config["RATELIMIT_LOGIN"], key_func=_login_address,
            methods=["POST"])(view)
    app.cli.add_command(create_admin_command)
    model_registry.init_app(app)
