"""Administrator accounts: salted password hashes (werkzeug.security), a lockout after repeated
failed logins, and the `flask --app app create-admin NAME` command.

After `MAX_FAILURES` wrong passwords in a row the account refuses every password, the right one
included, for `LOCKOUT`; a right password before then resets the count. Flask-Limiter limits the
login route per address as well (`LEMBRA_RATELIMIT_LOGIN`), which covers guessing names.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from chatbot.db import AdminUser, get_session, utcnow

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
NAME_CHARS = 64
# Checked when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("lembra-no-such-admin")


class AccountError(ValueError):
    """The name or password cannot be used."""


@dataclass(frozen=True)
class LoginResult:
    admin: AdminUser | None
    locked: bool = False


def set_admin(session: Session, name: str, password: str, replace: bool = False) -> AdminUser:
    """Create the admin `name` (or change its password when `replace`)."""
    name = name.strip()
    if not name or len(name) > NAME_CHARS:
        raise AccountError(f"the name must be 1 to {NAME_CHARS} characters")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")
    admin = session.scalar(select(AdminUser).where(AdminUser.name == name))
    if admin is not None and not replace:
        raise AccountError(f"admin {name!r} exists; use --reset to change the password")
    admin = admin or AdminUser(name=name)
    admin.password_hash = generate_password_hash(password)
    admin.failed_logins, admin.locked_until = 0, None
    session.add(admin)
    session.commit()
    return admin


def authenticate(session: Session, name: str, password: str) -> LoginResult:
    """The admin whose password this is, counting failures towards the lockout."""
    admin = session.scalar(select(AdminUser).where(AdminUser.name == name.strip()))
    if admin is None:
        check_password_hash(_DUMMY_HASH, password)
        return LoginResult(None)
    now = utcnow()
    if admin.locked_until is not None and admin.locked_until > now:
        return LoginResult(None, locked=True)
    if not check_password_hash(admin.password_hash, password):
        admin.failed_logins += 1
        if admin.failed_logins >= MAX_FAILURES:
            admin.locked_until, admin.failed_logins = now + LOCKOUT, 0
        session.commit()
        return LoginResult(None, locked=admin.locked_until is not None
                           and admin.locked_until > now)
    admin.failed_logins, admin.locked_until, admin.last_login_at = 0, None, now
    session.commit()
    return LoginResult(admin)


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
