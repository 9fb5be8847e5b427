"""The database inside the app: the init-db and purge commands, and the whole app on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, func, select, text

from chatbot.storage.db import Conversation, Message, make_engine, upgrade


def test_init_db_command(make_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = make_app(DATABASE_URL=url, AUTO_MIGRATE=False)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()


def test_the_same_app_runs_on_postgresql(make_app, postgres_url, visitor_for):
    upgrade(postgres_url)
    app = make_app(DATABASE_URL=postgres_url)
    visitor = visitor_for(app)
    conversation_id = visitor.new_conversation()
    response = visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": "olá"})
    assert response.status_code == 503  # no model in this app, but the message is stored
    messages = visitor.get(f"/api/conversations/{conversation_id}").get_json()["messages"]
    assert [m["text"] for m in messages] == ["olá"]
    assert visitor.get("/healthz").get_json()["database"] == "ok"
    assert visitor.delete(f"/api/conversations/{conversation_id}").status_code == 204
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM messages")).scalar() == 0
    engine.dispose()


def test_the_purge_command_deletes_only_idle_conversations(make_app):
    app = make_app()
    with app.app_context():
        session = app.extensions["lembra.db"]()
        old = datetime(2020, 1, 1, tzinfo=UTC)
        stale = Conversation(visitor_id="v", title="stale", created_at=old, updated_at=old)
        stale.messages = [Message(role="user", text="long ago")]
        session.add_all([stale, Conversation(visitor_id="v", title="fresh")])
        session.commit()
        session.close()
    result = app.test_cli_runner().invoke(args=["purge", "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 conversation" in result.output
    with app.app_context():
        session = app.extensions["lembra.db"]()
        assert [c.title for c in session.scalars(select(Conversation))] == ["fresh"]
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        session.close()
