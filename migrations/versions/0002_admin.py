"""Admin accounts, model switches, conversation reviews, and full-text search over messages.

The search DDL is written out here, not imported, so this revision means the same thing forever:
SQLite gets an FTS5 external-content table over messages.text kept in sync by three triggers,
PostgreSQL a GIN index on to_tsvector('simple', text) (chatbot/storage/search.py queries them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEARCH_DDL = {
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(text, content='messages', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        "CREATE TRIGGER IF NOT EXISTS messages_fts_ai AFTER INSERT ON messages BEGIN "
        "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
        "CREATE TRIGGER IF NOT EXISTS messages_fts_ad AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
        "CREATE TRIGGER IF NOT EXISTS messages_fts_au AFTER UPDATE OF text ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
        "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
        "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",  # index rows already there
    ],
    "postgresql": [
        "CREATE INDEX IF NOT EXISTS ix_messages_text_search ON messages "
        "USING gin (to_tsvector('simple', text))",
    ],
}
SEARCH_DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS messages_fts_ai",
        "DROP TRIGGER IF EXISTS messages_fts_ad",
        "DROP TRIGGER IF EXISTS messages_fts_au",
        "DROP TABLE IF EXISTS messages_fts",
    ],
    "postgresql": ["DROP INDEX IF EXISTS ix_messages_text_search"],
}


def _execute(statements: dict[str, list[str]]) -> None:
    bind = op.get_bind()
    for statement in statements.get(bind.dialect.name, []):
        bind.execute(sa.text(statement))


def upgrade() -> None:
    op.create_table(
        "admin_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "model_switches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_dir", sa.String(length=512), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("admin", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "reviews",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("tags", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    # The inbox lists newest first.
    op.create_index("ix_conversations_created_at", "conversations", ["created_at"])
    _execute(SEARCH_DDL)


def downgrade() -> None:
    _execute(SEARCH_DROP)
    op.drop_index("ix_conversations_created_at", table_name="conversations")
    op.drop_table("reviews")
    op.drop_table("model_switches")
    op.drop_table("admin_users")
