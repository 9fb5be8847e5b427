"""Faults: a broken model bundle, a locked or unreachable database, bad production settings, and
a gunicorn worker killed with SIGKILL in the middle of load."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from argparse import Namespace
from pathlib import Path

import pytest
from sqlalchemy import event

from bench.load import Client, Server
from chatbot.config import ConfigError
from chatbot.web.app import create_app
from chatbot.web.serving import without_paths
from tests.web.conftest import Visitor

ROOT = Path(__file__).resolve().parents[2]


# The model bundle


def model_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and "model" in r.getMessage()]


@pytest.mark.parametrize("damage", ["missing", "corrupt", "no tokenizer"])
def test_a_broken_bundle_is_one_log_line_and_healthz_503(make_app, tiny_bundle, tmp_path,
                                                         caplog, damage):
    bundle = tmp_path / "bundle"
    if damage != "missing":
        shutil.copytree(tiny_bundle, bundle)
    if damage == "corrupt":
        (bundle / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    if damage == "no tokenizer":
        (bundle / "tokenizer.model").unlink()
    with caplog.at_level(logging.ERROR):
        app = make_app(LOAD_MODEL=True, MODEL_DIR=str(bundle))
    [record] = model_errors(caplog)
    assert "\n" not in record.getMessage() and record.exc_info is None
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["model_loaded"] is False
    assert body["model_error"] == without_paths(record.getMessage()[10:])
    visitor = Visitor(app)  # anonymous visitors never see the server's directories
    url = f"/api/conversations/{visitor.new_conversation()}/messages"
    for seen in (response, visitor.get("/"), visitor.post(url, {"text": "hi"})):
        assert str(tmp_path) not in seen.get_data(as_text=True)
    assert str(tmp_path) in record.getMessage()  # the log keeps the whole path


# The database


def short_busy_timeout(app, milliseconds: int = 200) -> None:
    """Let the app's SQLite connections give up on a lock quickly (the default waits 5 s)."""
    engine = app.extensions["lembra.db"].kw["bind"]

    @event.listens_for(engine, "connect")
    def _busy(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA busy_timeout={milliseconds}")


@pytest.mark.sqlite_only
def test_a_locked_database_is_a_json_503_then_recovers(make_app, visitor_for, tmp_path):
    path = tmp_path / "locked.db"
    app = make_app(DATABASE_URL=f"sqlite:///{path}")
    short_busy_timeout(app)
    visitor = visitor_for(app)
    conversation_id = visitor.new_conversation()
    holder = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = visitor.post("/api/conversations", {})
        assert response.status_code == 503
        assert "database" in response.get_json()["error"]
        assert response.headers["Retry-After"] == "5"
        locked = visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": "hi"})
        assert locked.status_code == 503 and "database" in locked.get_json()["error"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert visitor.post("/api/conversations", {}).status_code == 201


@pytest.mark.sqlite_only
def test_a_reply_that_cannot_be_stored_keeps_the_user_turn(model_app, visitor_for):
    """The database refuses the reply's write (read-only here; a full disk alike): the committed
    user turn still comes back in the 503, as documented."""
    from sqlalchemy import text

    from chatbot.storage.db import Message

    visitor = visitor_for(model_app)
    url = f"/api/conversations/{visitor.new_conversation()}/messages"
    sessions = model_app.extensions["lembra.db"]

    def refuse_writes(session, flush_context, instances):
        if any(isinstance(o, Message) and o.role == "bot" for o in session.new):
            session.connection().execute(text("PRAGMA query_only = ON"))

    event.listen(sessions, "before_flush", refuse_writes)
    try:
        response = visitor.post(url, {"text": "hello", "options": {"mode": "greedy", "max_len": 8}})
    finally:
        event.remove(sessions, "before_flush", refuse_writes)
        with model_app.app_context():
            engine = model_app.extensions["lembra.db"].kw["bind"]
            engine.dispose()  # no connection keeps query_only
    assert response.status_code == 503
    body = response.get_json()
    assert body["user"]["text"] == "hello" and "its reply could not be" in body["error"]


def test_a_full_disk_is_named_as_such(tmp_path):
    """SQLite's own "database or disk is full" (max_page_count reached) is not "busy"."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from chatbot.web.errors import database_problem

    engine = create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE t (b BLOB)"))
        pages = connection.execute(text("PRAGMA page_count")).scalar()
        connection.execute(text(f"PRAGMA max_page_count = {pages}"))
        with pytest.raises(OperationalError) as full:
            connection.execute(text("INSERT INTO t VALUES (zeroblob(100000))"))
    engine.dispose()
    assert "disk is full" in database_problem(full.value)


@pytest.mark.sqlite_only
def test_a_message_to_a_conversation_deleted_meanwhile_is_a_409(app, visitor, tmp_path):
    """Another request deletes the conversation between this one's ownership check and its
    write (bench.hostile found it as a 500)."""
    conversation_id = visitor.new_conversation()
    sessions = app.extensions["lembra.db"]

    done = []

    def delete_it_first(session, flush_context, instances):
        if done:
            return
        done.append(True)
        other = sqlite3.connect(tmp_path / "lembra.db")
        other.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        other.commit()
        other.close()

    event.listen(sessions, "before_flush", delete_it_first)
    response = visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": "hi"})
    assert response.status_code == 409
    assert "meanwhile" in response.get_json()["error"]
    event.remove(sessions, "before_flush", delete_it_first)
    assert visitor.get(f"/api/conversations/{conversation_id}").status_code == 404


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs the test can fill: a real full disk (needs root to mount; skipped without)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): " + made.stderr.decode()[-200:])
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path) -> None:
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


@pytest.mark.sqlite_only
def test_a_full_disk_shows_in_healthz_and_no_request_is_a_500(make_app, visitor_for, bot,
                                                              small_disk):
    app = make_app(DATABASE_URL=f"sqlite:///{small_disk / 'lembra.db'}", BOT=bot,
                   RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="")  # the limit store there too
    visitor = visitor_for(app)
    conversation_id = visitor.new_conversation()
    assert visitor.get("/healthz").get_json()["database"] == "ok"
    fill(small_disk)
    health = visitor.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "disk full"
    statuses = [visitor.post(f"/api/conversations/{conversation_id}/messages",
                             {"text": f"hello {i}"}).status_code for i in range(3)]
    statuses.append(visitor.post("/api/conversations", {}).status_code)
    statuses.append(app.test_client().post("/admin/login", data={"username": "a",
                                                                  "password": "b"}).status_code)
    assert 500 not in statuses, statuses
    (small_disk / "filler").unlink()
    assert visitor.get("/healthz").status_code == 200


def test_a_read_only_database_url_is_reported(make_app, visitor_for, tmp_path):
    from chatbot.storage.db import upgrade

    upgrade(f"sqlite:///{tmp_path / 'ro.db'}")
    app = make_app(DATABASE_URL=f"sqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true",
                   AUTO_MIGRATE=False)
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "read-only"
    assert not any(p.name.startswith("file:") for p in Path.cwd().iterdir())


def test_an_unreachable_database_is_a_json_503(make_app, visitor_for):
    app = make_app(DATABASE_URL="postgresql+psycopg2://nobody@127.0.0.1:9/nowhere",
                   AUTO_MIGRATE=False)
    visitor = visitor_for(app)
    for response in (visitor.get("/api/conversations"), visitor.post("/api/conversations", {}),
                     visitor.get("/api/conversations/1")):
        assert response.status_code == 503
        assert "database" in response.get_json()["error"]
    health = visitor.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["database"] == "unreachable"


# Settings


def test_production_refuses_the_default_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"PRODUCTION": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                    "LOAD_MODEL": False})


@pytest.mark.parametrize("key", ["", "short", "x" * 31])
def test_production_refuses_a_short_secret_key(tmp_path, key):
    with pytest.raises(ConfigError, match="at least 32"):
        create_app({"PRODUCTION": True, "SECRET_KEY": key, "LOAD_MODEL": False,
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    create_app({"PRODUCTION": True, "SECRET_KEY": "k" * 32, "LOAD_MODEL": False,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


def gunicorn_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "LEMBRA_PRODUCTION", "DATABASE_URL")}
    return {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", **extra}


def test_gunicorn_in_production_with_the_default_secret_exits_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:0",
         "app:app"], cwd=ROOT, env=gunicorn_env(tmp_path, LEMBRA_PRODUCTION="1"),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "SECRET_KEY" in line]
    assert errors == ["Error: lembra: refusing to start in production with the default "
                      "SECRET_KEY; set SECRET_KEY"]
    assert "Traceback" not in result.stderr


def test_gunicorn_with_an_uncreatable_sqlite_database_exits_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:0",
         "app:app"], cwd=ROOT, env=gunicorn_env(tmp_path, DATABASE_URL="sqlite:////proc/no/x.db"),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "DATABASE_URL" in line]
    assert len(errors) == 1 and errors[0].startswith(
        "Error: lembra: cannot create or write the SQLite database at DATABASE_URL")
    assert "Traceback" not in result.stderr


def test_gunicorn_in_production_with_an_empty_secret_exits_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:0",
         "app:app"], cwd=ROOT, env=gunicorn_env(tmp_path, LEMBRA_PRODUCTION="1", SECRET_KEY=""),
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "SECRET_KEY" in line]
    assert len(errors) == 1 and errors[0].startswith("Error: lembra: refusing to start in "
                                                     "production with a SECRET_KEY of 0 bytes")
    assert "Traceback" not in result.stderr


# A worker killed under load


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_killing_a_worker_under_load_loses_no_committed_message(tiny_bundle, tmp_path):
    db = tmp_path / "lembra.db"
    args = Namespace(window_ms=5.0, workers=2, threads=4)
    server = Server(tiny_bundle, db, batching=True, args=args)
    acknowledged: list[tuple[int, int]] = []  # (user id, reply id) of every 201
    failures: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def chat(index: int) -> None:
        client = None
        for turn in range(200):
            if stop.is_set():
                return
            try:
                client = client or Client(server.port)
                status, body = client.call(
                    "POST", f"/api/conversations/{client.conversation}/messages",
                    {"text": f"message {index}.{turn}", "options": {"max_len": 6}})
            except (OSError, RuntimeError, ValueError) as exc:  # the killed worker's connections
                failures.append(type(exc).__name__)
                client = None
                continue
            if status == 201:
                with lock:
                    acknowledged.append((body["user"]["id"], body["reply"]["id"]))

    try:
        server.wait_ready(180)
        threads = [threading.Thread(target=chat, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True,
                                 text=True).stdout.split()
        assert len(workers) == 2
        os.kill(int(workers[0]), signal.SIGKILL)
        before = len(acknowledged)
        deadline = time.monotonic() + 60
        while len(acknowledged) < before + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join(60)
    finally:
        stop.set()
        server.stop()
    assert len(acknowledged) >= 40, failures
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {row[0] for row in connection.execute("SELECT id FROM messages")}
    missing = [pair for pair in acknowledged if not set(pair) <= stored]
    assert missing == []
