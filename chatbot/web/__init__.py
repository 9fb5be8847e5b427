"""The web layer: the chat page, the JSON API, the health check and the admin area, plus the
request plumbing they share (database session, visitor cookie, security headers and CSRF, errors,
languages, rate limits) and this worker's bot (`serving`)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Every extension, hook and blueprint, in the order they must run."""
    from chatbot.web import (
        admin,
        api,
        chat,
        database,
        errors,
        health,
        i18n,
        limits,
        schema,
        security,
        serving,
        visitor,
    )

    app.url_map.converters["int"] = schema.RowId  # before any route is added
    database.init_app(app)
    visitor.init_app(app)
    security.init_app(app)  # CSRF before any view
    errors.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(chat.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    limits.init_app(app)  # wraps the views registered above
    admin.init_app(app)  # its login limit uses the limiter; its guard runs before the watcher
    serving.init_app(app)  # the bot: the bundle an admin activated last, else MODEL_DIR
