"""The database inside the app: one engine per app, one session per request, and the
`flask --app app init-db` and `flask --app app purge --older-than 30d` commands.

The models, the engine settings and the migrations are in `chatbot/storage/db.py`; this module
only ties them to Flask, as the Flask tutorial's `db.py` does.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from chatbot.storage.db import make_engine, purge, upgrade

SESSIONS = "lembra.db"
AGE = re.compile(r"(\d+)\s*([hdw])")
AGE_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def init_app(app: Flask) -> None:
    """Create this app's engine, migrate SQLite on start, and close each request's session."""
    url = app.config["DATABASE_URL"]
    if app.config["AUTO_MIGRATE"]:
        upgrade(url)
    app.extensions[SESSIONS] = sessionmaker(make_engine(url), expire_on_commit=False)
    app.teardown_appcontext(_close_session)
    app.cli.add_command(init_db_command)
    app.cli.add_command(purge_command)


def open_session(app: Flask) -> Session:
    """A new session outside any request (the caller closes it)."""
    return app.extensions[SESSIONS]()


def get_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = open_session(current_app)
    return g.db_session


def _close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the tables at DATABASE_URL."""
    url = current_app.config["DATABASE_URL"]
    upgrade(url)
    click.echo(f"database at {make_url(url).render_as_string(hide_password=True)} is up to date")


def parse_age(value: str) -> timedelta:
    """'30d', '12h' or '2w' as a timedelta; ValueError for anything else."""
    match = AGE.fullmatch(value.strip().lower())
    if match is None:
        raise ValueError(f"{value!r} is not an age like 30d, 12h or 2w")
    return timedelta(**{AGE_UNITS[match.group(2)]: int(match.group(1))})


class AgeType(click.ParamType):
    name = "age"

    def convert(self, value: Any, param: Any, ctx: Any) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_age(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command("purge")
@click.option("--older-than", "older_than", type=AgeType(), required=True,
              help="Delete conversations (with their messages, feedback and corrections) idle "
                   "this long: 30d, 12h or 2w.")
@with_appcontext
def purge_command(older_than: timedelta) -> None:
    """Delete old transcripts, for a retention policy (run it from cron)."""
    count = purge(get_session(), older_than)
    click.echo(f"deleted {count} conversation(s) idle for more than {_describe(older_than)}")


def _describe(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    if hours % 24:
        return f"{hours} hours"
    return f"{hours // 24} days"
