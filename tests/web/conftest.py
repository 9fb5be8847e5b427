"""Fixtures for the web app: an app on a temporary database (tests/conftest.py says which),
visitors with their own cookies, admins, and the real tiny model loaded once per session."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import close_all_sessions

from chatbot.web.app import create_app
from tests.conftest import empty_tables


class Visitor:
    """A browser-like client: its own cookie jar, and the CSRF header on every unsafe request."""

    def __init__(self, app: Flask):
        self.client: FlaskClient = app.test_client()
        self._token: str | None = None

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.client.get("/api/csrf").get_json()["csrf_token"]
        return self._token

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, json: object = None, **kwargs):
        headers = {"X-CSRF-Token": self.token, **kwargs.pop("headers", {})}
        if json is not None:
            kwargs["json"] = json
        return self.client.post(path, headers=headers, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.client.delete(path, headers={"X-CSRF-Token": self.token}, **kwargs)

    def patch(self, path: str, json: object = None, **kwargs):
        return self.client.patch(path, headers={"X-CSRF-Token": self.token}, json=json, **kwargs)

    def new_conversation(self) -> int:
        response = self.post("/api/conversations", {})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]


class Admin:
    """An administrator's browser: signs in through the form and sends the CSRF token."""

    NAME = "root"
    PASSWORD = "correct horse battery staple"

    def __init__(self, app: Flask, login: bool = True):
        from chatbot.storage.accounts import set_admin
        from chatbot.storage.db import AdminUser
        from chatbot.web.database import get_session

        self.app = app
        self.client: FlaskClient = app.test_client()
        with app.app_context():
            if get_session().query(AdminUser).filter_by(name=self.NAME).first() is None:
                set_admin(get_session(), self.NAME, self.PASSWORD)
        if login:
            response = self.login()
            assert response.status_code == 302, response.get_data(as_text=True)

    def token(self, path: str = "/admin/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def login(self, password: str | None = None, name: str | None = None, **extra):
        data = {"name": name or self.NAME, "password": password or self.PASSWORD,
                "csrf_token": self.token(), **extra}
        return self.client.post("/admin/login", data=data)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs):
        token = self.token("/admin/models")
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


@pytest.fixture
def make_app(tmp_path, server_database) -> Iterator[Callable[..., Flask]]:
    """Apps over one temporary database (SQLite, or the emptied PostgreSQL one); keyword
    arguments override the config. Their connection pools are closed after the test."""
    apps: list[Flask] = []
    if server_database:
        empty_tables(server_database)

    def make(**config) -> Flask:
        settings = {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'lembra.db'}",
            "LOAD_MODEL": False,
            "RATELIMIT_ENABLED": False,
        }
        if server_database:
            settings.update(DATABASE_URL=server_database, AUTO_MIGRATE=False)
        settings.update(config)
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    try:  # a session a test opened and never closed would keep its locks
        close_all_sessions()
    except Exception:  # its database may be gone already (a test that dropped its own)
        pass
    for app in apps:
        app.extensions["lembra.db"].kw["bind"].dispose()


@pytest.fixture
def app(make_app) -> Flask:
    """An app without a model: everything but replies works."""
    return make_app()


@pytest.fixture
def model_app(make_app, bot) -> Flask:
    """An app serving the tiny trained model (loaded once per test session)."""
    return make_app(BOT=bot)


@pytest.fixture
def visitor_for() -> Callable[[Flask], Visitor]:
    """Make a new visitor (a browser with its own cookies) of any app."""
    return Visitor


@pytest.fixture
def admin_for() -> Callable[..., Admin]:
    """Sign an administrator in to any app (the account is created on first use)."""
    return Admin


@pytest.fixture
def visitor(app) -> Visitor:
    return Visitor(app)


@pytest.fixture
def chatter(model_app) -> Visitor:
    return Visitor(model_app)
