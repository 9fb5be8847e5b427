"""Reply versions and confidence: a regenerated reply is kept and points at the reply that
replaced it; each reply stores the model's mean log-probability per piece; a correction records
the reviewer who wrote it (null: the visitor suggested it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("corrections", sa.Column("written_by", sa.String(length=64), nullable=True))
    op.add_column("messages", sa.Column("confidence", sa.Double(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a foreign key only inline; batch mode would copy the table and drop the
        # full-text search triggers on it (and, with foreign keys on, cascade the drop).
        op.execute("ALTER TABLE messages ADD COLUMN superseded_by_id INTEGER "
                   "REFERENCES messages (id) ON DELETE SET NULL")
    else:
        op.add_column("messages", sa.Column("superseded_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_messages_superseded_by_id", "messages", "messages",
                              ["superseded_by_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_messages_superseded_by_id", "messages", type_="foreignkey")
    op.drop_column("messages", "superseded_by_id")  # SQLite 3.35+ drops a plain column in place
    op.drop_column("messages", "confidence")
    op.drop_column("corrections", "written_by")
