"""The database layer: SQLite settings, cascades, UTC times, the Alembic migrations, purging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from chatbot.storage.db import Base, Conversation, Feedback, Message, make_engine, purge, upgrade
from chatbot.storage.search import is_search_object

# The full-text search table and index live outside the models (chatbot/storage/search.py).
SKIP_SEARCH = {"include_name": lambda name, type_, parents: not is_search_object(name)}


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_sqlite_file_directory_is_created(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'x.db'}")
    with engine.connect():
        pass
    assert (tmp_path / "deep" / "er" / "x.db").exists()
    engine.dispose()


def schema_diff(url: str) -> list:
    """What differs between the migrated database at `url` and the SQLAlchemy models."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection, opts=SKIP_SEARCH),
                                    Base.metadata)
    finally:
        engine.dispose()


def _inline_fk(change) -> bool:
    """SQLAlchemy reads SQLite's ON DELETE only from table-level FOREIGN KEY clauses, so the
    inline one of messages.superseded_by_id (ALTER TABLE ADD COLUMN ... REFERENCES) reads as
    a different key; the test below checks it with PRAGMA instead."""
    return (change[0] in ("remove_fk", "add_fk")
            and [c.name for c in change[1].columns] == ["superseded_by_id"])


def test_migration_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    upgrade(url)  # idempotent
    assert [change for change in schema_diff(url) if not _inline_fk(change)] == []
    engine = make_engine(url)
    with engine.connect() as connection:
        keys = connection.execute(text("PRAGMA foreign_key_list(messages)")).mappings().all()
    engine.dispose()
    assert [(k["from"], k["table"], k["to"], k["on_delete"]) for k in keys
            if k["from"] == "superseded_by_id"] == [("superseded_by_id", "messages", "id", "SET NULL")]


def test_the_migrations_match_the_models_on_postgresql(postgres_url):
    upgrade(postgres_url)
    assert schema_diff(postgres_url) == []


def test_deleting_a_conversation_deletes_messages_and_feedback(session):
    conversation = Conversation(visitor_id="v", title="t")
    conversation.messages = [Message(role="user", text="hi"), Message(role="bot", text="hey")]
    session.add(conversation)
    session.flush()
    session.add(Feedback(message_id=conversation.messages[1].id, rating=1))
    session.commit()
    # A plain SQL delete: the foreign keys themselves cascade, not just the ORM.
    session.execute(text("DELETE FROM conversations"))
    session.commit()
    assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert session.scalar(select(func.count()).select_from(Feedback)) == 0


def test_times_come_back_as_utc(session):
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    session.add(Conversation(visitor_id="v", created_at=when, updated_at=when))
    session.commit()
    session.expunge_all()
    stored = session.scalar(select(Conversation))
    assert stored.created_at == when and stored.created_at.tzinfo is not None


def test_purge_deletes_only_idle_conversations(session):
    old = datetime(2020, 1, 1, tzinfo=UTC)
    stale = Conversation(visitor_id="v", title="stale", created_at=old, updated_at=old)
    stale.messages = [Message(role="user", text="long ago")]
    session.add_all([stale, Conversation(visitor_id="v", title="fresh")])
    session.commit()
    assert purge(session, timedelta(days=30)) == 1
    assert [c.title for c in session.scalars(select(Conversation))] == ["fresh"]
    assert session.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.sqlite_only
def test_delete_for_good_leaves_the_text_in_no_database_file(session, database_url):
    """Not in the main file (secure_delete), not in the write-ahead log (checkpointed and
    truncated), not in the full-text index's segments (merged)."""
    from pathlib import Path

    from chatbot.storage import conversations

    marker = "zanzibarquokka"
    keep = conversations.create(session, "v", "")
    conversations.add_message(session, keep, "an ordinary message", max_turns=10)
    gone = conversations.create(session, "v", "")
    for i in range(3):
        conversations.add_message(session, gone, f"my secret is {marker} {i}", max_turns=10)
    conversations.delete(session, gone)
    path = Path(database_url.removeprefix("sqlite:///"))
    files = [f for f in path.parent.iterdir() if f.name.startswith(path.name)]
    assert path in files
    for file in files:
        assert marker.encode() not in file.read_bytes(), file.name
    assert b"ordinary" in b"".join(f.read_bytes() for f in files)  # the control: text is readable
