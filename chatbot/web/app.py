"""The application factory. Nothing heavy happens at import: TensorFlow, the database engine and
the model are created inside `create_app`, once per process (gunicorn calls it in each worker
after the fork)."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

from chatbot.config import AppConfig, ConfigError, secret_key_problem


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `test_config` overrides the settings read from the environment."""
    # Named for the package, so its root (translations/, ../templates, ../static) is chatbot/.
    app = Flask("chatbot", template_folder="../templates", static_folder="../static")
    settings = AppConfig.from_env()
    app.config.from_mapping({f.name.upper(): getattr(settings, f.name)
                             for f in dataclasses.fields(settings)})
    app.config.update(
        LOAD_MODEL=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
    )
    if test_config:
        app.config.update(test_config)
    problem = secret_key_problem(app.config["SECRET_KEY"], app.config["PRODUCTION"])
    if problem:
        raise ConfigError(problem)
    # Migrating on start is a convenience for SQLite; PostgreSQL deployments run `init-db` once.
    app.config.setdefault(
        "AUTO_MIGRATE", make_url(app.config["DATABASE_URL"]).get_backend_name() == "sqlite")

    from chatbot import web

    if app.config["PROXY_HOPS"]:
        # Behind nginx & co.: trust their X-Forwarded-* so HTTPS is seen (HSTS, Secure cookies).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    web.init_app(app)
    return app
