"""The web layer: blueprints for the chat page, the JSON API and the health check, plus the
request plumbing they share (visitor cookie, security headers and CSRF, errors, languages,
rate limits)."""

from __future__ import annotations

from flask import Flask


def init_web(app: Flask) -> None:
    from chatbot.web import api, chat, errors, health, i18n, limits, security, visitor

    visitor.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(chat.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    limits.init_app(app)
