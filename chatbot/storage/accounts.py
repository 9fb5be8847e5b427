"""Administrator accounts: salted password hashes (werkzeug.security) and a lockout after repeated
failed logins. `flask --app app create-admin NAME` (chatbot/web/admin/auth.py) calls `set_admin`.

After `MAX_FAILURES` wrong passwords in a row the account refuses every password, the right one
included, for `LOCKOUT`; a right password before then resets the count. Each attempt takes its
place in the count with one atomic UPDATE before the password is checked, so concurrent guesses
cannot check more than `MAX_FAILURES` passwords between lockouts. Flask-Limiter limits the login
route per address as well (`LEMBRA_RATELIMIT_LOGIN`), which covers guessing names.
`session_epoch` counts the admin's sign-outs and password changes: a session cookie remembers
the epoch it was made in and is worthless once the epoch moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import or_, select, update
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
    admin = admin or AdminUser(name=name, session_epoch=0)
    admin.password_hash = generate_password_hash(password)
    admin.failed_logins, admin.locked_until = 0, None
    if replace and admin.id is not None:
        admin.session_epoch += 1  # a new password signs out every session of the old one
    session.add(admin)
    session.commit()
    return admin


def end_sessions(session: Session, admin_id: int) -> None:
    """Sign out every session of this admin, on every device (logout does this)."""
    session.execute(update(AdminUser).where(AdminUser.id == admin_id)
                    .values(session_epoch=AdminUser.session_epoch + 1))
    session.commit()


def _take_attempt(session: Session, admin_id: int, now) -> int | None:
    """Count one more attempt (atomically) unless the account is locked; the new count, or None
    when locked. The UPDATE holds the row until the commit, so concurrent attempts queue."""
    session.execute(update(AdminUser)
                    .where(AdminUser.id == admin_id,
                           or_(AdminUser.locked_until.is_(None), AdminUser.locked_until <= now))
                    .values(failed_logins=AdminUser.failed_logins + 1))
    row = session.execute(select(AdminUser.failed_logins, AdminUser.locked_until)
                          .where(AdminUser.id == admin_id)).one()
    locked = row.locked_until is not None and row.locked_until > now
    if not locked and row.failed_logins > MAX_FAILURES:  # more attempts than the count allows
        session.execute(update(AdminUser).where(AdminUser.id == admin_id)
                        .values(locked_until=now + LOCKOUT, failed_logins=0))
        locked = True
    session.commit()
    return None if locked else row.failed_logins


def authenticate(session: Session, name: str, password: str) -> LoginResult:
    """The admin whose password this is, counting failures towards the lockout. A locked
    account still costs one hash check, so the reply's timing does not tell it apart."""
    admin = session.scalar(select(AdminUser).where(AdminUser.name == name.strip()))
    if admin is None:
        check_password_hash(_dummy_hash(), password)
        return LoginResult(None)
    now = utcnow()
    attempt = _take_attempt(session, admin.id, now)
    if attempt is None:
        check_password_hash(_dummy_hash(), password)
        return LoginResult(None, locked=True)
    session.refresh(admin)
    if check_password_hash(admin.password_hash, password):
        admin.failed_logins, admin.locked_until, admin.last_login_at = 0, None, now
        session.commit()
        return LoginResult(admin)
    if attempt >= MAX_FAILURES:
        session.execute(update(AdminUser).where(AdminUser.id == admin.id)
                        .values(locked_until=now + LOCKOUT, failed_logins=0))
        session.commit()
        return LoginResult(None, locked=True)
    return LoginResult(None)
