"""A storage for the `limits` library in one SQLite file, so every gunicorn worker on the machine
counts against the same rate-limit buckets with no server to run (Redis stays an option).

`lembra-sqlite:///relative/path.db` or `lembra-sqlite:////absolute/path.db`. Each hit is one
atomic UPSERT ... RETURNING, so concurrent workers never lose an increment; WAL and a busy
timeout let them wait for each other instead of failing. Only the fixed-window strategy (the
Flask-Limiter default) is supported: it needs nothing but counters that expire.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import Storage

SCHEME = "lembra-sqlite"
_SCHEMA = """CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"""
_INCR = """INSERT INTO counters (key, count, expires) VALUES (?, ?, ?)
ON CONFLICT(key) DO UPDATE SET
    count = CASE WHEN counters.expires <= ? THEN excluded.count ELSE counters.count + excluded.count END,
    expires = CASE WHEN counters.expires <= ? THEN excluded.expires ELSE counters.expires END
RETURNING count"""
SWEEP_EVERY = 1000  # hits between deletions of expired counters


def store_path(uri: str) -> Path:
    """The file a `lembra-sqlite://` URI names."""
    prefix = f"{SCHEME}:///"
    if not uri.startswith(prefix) or uri == prefix:
        raise ValueError(f"expected {prefix}PATH, got {uri!r}")
    return Path(uri[len(prefix):])


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file shared by every process that opens it."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: float | str | bool):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = store_path(uri)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # one connection per thread: sqlite3 objects stay put
        self._hits = 0
        with self._connection() as db:
            db.execute(_SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # counters, not data: a crash may lose one
            self._local.db = db
        return db

    def incr(self, key: str, expiry: int | float, amount: int = 1) -> int:
        now = time.time()
        db = self._connection()
        count = db.execute(_INCR, (key, amount, now + expiry, now, now)).fetchone()[0]
        self._hits += 1
        if self._hits % SWEEP_EVERY == 0:
            db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return int(count)

    def get(self, key: str) -> int:
        row = self._connection().execute(
            "SELECT count FROM counters WHERE key = ? AND expires > ?", (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connection().execute(
            "SELECT expires FROM counters WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row and row[0] > time.time() else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))
