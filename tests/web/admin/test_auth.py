"""Admin sign-in: every /admin route refused without it, CSRF, lockout, rate limit, cookies,
session expiry, and the create-admin command."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import AnyConverter, NumberConverter

from chatbot.storage import accounts
from chatbot.storage.db import AdminUser, utcnow
from chatbot.web.database import get_session


def sample(converter) -> object:
    """A value the converter accepts: a number, one of `any(...)`'s choices, or a word."""
    if isinstance(converter, NumberConverter):
        return 1
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "x"


def admin_routes(app) -> list[tuple[str, str]]:
    """(method, url) for every rule under /admin, with sample values for its arguments."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        values = {name: sample(converter) for name, converter in rule._converters.items()}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


def test_every_admin_route_refuses_strangers(app):
    routes = admin_routes(app)
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith("/admin")}
    # The enumeration really covers the admin area (a rename would otherwise empty this test).
    assert {"admin_transcripts.inbox", "admin_transcripts.export_jsonl", "admin_models.activate",
            "admin_dashboard.stats", "admin_auth.logout"} <= endpoints
    client = app.test_client()
    for method, url in routes:
        response = client.open(url, method=method)
        if url == "/admin/login":
            assert response.status_code in (200, 403), (method, url)  # the form, or no CSRF
            continue
        assert response.status_code in (302, 401), (method, url, response.status_code)
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/admin/login"), (method, url)


def test_unknown_admin_paths_are_refused_too(app):
    response = app.test_client().get("/admin/no-such-page")
    assert response.status_code == 302
    assert app.test_client().get("/admin/api/stats").status_code == 401


def test_login_signs_in_and_logout_signs_out(app, admin_for):
    admin = admin_for(app)
    assert admin.get("/admin/").status_code == 200
    assert admin.client.post("/admin/logout").status_code == 403  # no CSRF token
    assert admin.post("/admin/logout").status_code == 302
    assert admin.get("/admin/").status_code == 302


def test_login_needs_the_csrf_token(app, admin_for):
    admin = admin_for(app, login=False)
    admin.client.get("/admin/login")
    response = admin.client.post("/admin/login", data={"name": admin.NAME,
                                                       "password": admin.PASSWORD})
    assert response.status_code == 403
    response = admin.client.post("/admin/login", data={
        "name": admin.NAME, "password": admin.PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert admin.get("/admin/").status_code == 302


def test_wrong_password_and_unknown_name(app, admin_for):
    admin = admin_for(app, login=False)
    assert admin.login("wrong password!").status_code == 401
    response = admin.login(name="nobody")
    assert response.status_code == 401
    assert "Wrong name or password" in response.get_data(as_text=True)


def test_lockout_after_repeated_failures(app, admin_for):
    admin = admin_for(app, login=False)
    for _ in range(accounts.MAX_FAILURES):
        assert admin.login("wrong password!").status_code == 401
    response = admin.login()  # the right password, but locked
    assert response.status_code == 401
    assert "locked" in response.get_data(as_text=True)
    assert admin.get("/admin/").status_code == 302
    with app.app_context():
        session = get_session()
        user = session.scalar(select(AdminUser))
        user.locked_until = utcnow() - timedelta(seconds=1)  # the lockout is over
        session.commit()
    assert admin.login().status_code == 302


def test_lockout_replies_do_not_tell_which_names_exist(app, admin_for):
    admin = admin_for(app, login=False)
    def replies(name: str) -> list[tuple[int, str]]:
        return [(r.status_code, re.sub(r'value="[^"]*"', "", r.get_data(as_text=True)))
                for r in (admin.login("wrong password!", name=name)
                          for _ in range(accounts.MAX_FAILURES + 2))]
    assert replies(admin.NAME) == replies("nobody-by-this-name")


def test_concurrent_wrong_guesses_cannot_outrun_the_lockout(app, admin_for):
    """Each guess takes its place in the count before its password is checked: 24 guesses at
    once check at most MAX_FAILURES passwords, and the account ends up locked."""
    admin_for(app, login=False)
    barrier = threading.Barrier(24)

    def guess(_: int) -> accounts.LoginResult:
        with app.app_context():
            barrier.wait()
            return accounts.authenticate(get_session(), admin_for.NAME, "wrong password!")

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(guess, range(24)))
    assert sum(not result.locked for result in results) <= accounts.MAX_FAILURES - 1
    with app.app_context():
        right = accounts.authenticate(get_session(), admin_for.NAME, admin_for.PASSWORD)
    assert right.admin is None and right.locked


def test_head_never_signs_in(app, admin_for):
    admin = admin_for(app, login=False)
    data = {"name": admin.NAME, "password": admin.PASSWORD, "csrf_token": admin.token()}
    head = admin.client.open("/admin/login", method="HEAD", data=data)
    assert head.status_code == 200
    assert admin.get("/admin/").status_code == 302  # still signed out
    with app.app_context():
        assert get_session().scalar(select(AdminUser)).last_login_at is None


def test_logout_ends_every_session_of_that_admin(app, admin_for):
    first = admin_for(app)
    second = admin_for(app)  # the same admin on another device
    copied = app.test_client()  # a copy of the first cookie, taken before logout
    copied.set_cookie("session", first.client.get_cookie("session").value)
    assert copied.get("/admin/").status_code == 200
    first.post("/admin/logout")
    assert copied.get("/admin/").status_code == 302
    assert second.get("/admin/").status_code == 302
    assert admin_for(app).get("/admin/").status_code == 200  # signing in again works


def test_a_password_change_ends_every_session(app, admin_for):
    admin = admin_for(app)
    result = app.test_cli_runner().invoke(args=["create-admin", admin.NAME, "--reset"],
                                          input="a brand new password\n")
    assert result.exit_code == 0, result.output
    assert admin.get("/admin/").status_code == 302
    assert admin.login(password="a brand new password").status_code == 302


def test_sessions_have_an_absolute_lifetime(app, admin_for, monkeypatch):
    import chatbot.web.admin.auth as auth

    admin = admin_for(app)
    start = auth.time.time()
    step = (app.config["ADMIN_SESSION_MINUTES"] - 1) * 60
    hours = app.config["ADMIN_SESSION_MAX_HOURS"] * 3600
    for n in range(1, hours // step + 2):  # busy all along: never idle for long
        monkeypatch.setattr(auth.time, "time", lambda n=n: start + n * step)
        status = admin.get("/admin/").status_code
        if n * step <= hours:
            assert status == 200, n
    assert status == 302


def test_a_good_login_resets_the_failure_count(app, admin_for):
    admin = admin_for(app, login=False)
    for _ in range(accounts.MAX_FAILURES - 1):
        admin.login("wrong password!")
    assert admin.login().status_code == 302
    with app.app_context():
        assert get_session().scalar(select(AdminUser)).failed_logins == 0


def test_login_route_is_rate_limited(make_app, admin_for):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
    admin = admin_for(app, login=False)
    statuses = [admin.login("wrong password!").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_session_cookie_flags(app, admin_for):
    admin = admin_for(app, login=False)
    cookie = admin.login().headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # a permanent session with the short admin lifetime
    secure = admin.client.get("/admin/login", base_url="https://localhost")
    assert "Secure" in secure.headers["Set-Cookie"]


def test_idle_session_expires(app, admin_for, monkeypatch):
    admin = admin_for(app)
    assert admin.get("/admin/").status_code == 200
    import chatbot.web.admin.auth as auth

    later = auth.time.time() + app.config["ADMIN_SESSION_MINUTES"] * 60 + 5
    monkeypatch.setattr(auth.time, "time", lambda: later)
    assert admin.get("/admin/").status_code == 302


def test_next_is_followed_only_inside_admin(app, admin_for):
    admin = admin_for(app, login=False)
    assert admin.login(next="/admin/dashboard").headers["Location"] == "/admin/dashboard"
    admin.post("/admin/logout")
    assert admin.login(next="https://evil.example/").headers["Location"] == "/admin/"
    admin.post("/admin/logout")
    assert admin.login(next="//evil.example/admin/").headers["Location"] == "/admin/"


def test_pages_keep_the_security_headers(app, admin_for):
    response = admin_for(app).get("/admin/dashboard")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>(?!\s*</script>)",
                         response.get_data(as_text=True).replace('type="application/json"', ""))


# -- the create-admin command -------------------------------------------------------------------


def test_create_admin_reads_the_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "alice"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    with app.app_context():
        user = get_session().scalar(select(AdminUser).where(AdminUser.name == "alice"))
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert "a long enough password" not in user.password_hash
    assert runner.invoke(args=["create-admin", "alice"], input="another password!\n").exit_code == 1
    result = runner.invoke(args=["create-admin", "alice", "--reset"], input="another password!\n")
    assert result.exit_code == 0 and "updated" in result.output


@pytest.mark.parametrize("name,password", [("bob", "short"), ("", "a long enough password")])
def test_create_admin_rejects_weak_input(app, name, password):
    result = app.test_cli_runner().invoke(args=["create-admin", name], input=password + "\n")
    assert result.exit_code == 1
    assert "must be" in result.output
