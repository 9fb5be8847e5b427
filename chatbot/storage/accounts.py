"""Administrator accounts: salted password hashes (werkzeug.security) and a lockout after repeated
failed logins. `flask --app app create-admin NAME` (chatbot/web/admin/auth.py) calls `set_admin`.

After `MAX_FAILURES` wrong passwords in a row the account refuses every password, the right one
included, for `LOCKOUT`; a right password before then resets the count. Flask-Limiter limits the
login route per address as well (`LEMBRA_RATELIMIT_LOGIN`), which covers guessing names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from chatbot.storage.db import AdminUser, utcnow

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
NAME_CHARS = 64


@cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name takes as long as a wrong password."""
    return generate_password_hash("lembra-no-such-admin")


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
        check_password_hash(_dummy_hash(), password)
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
