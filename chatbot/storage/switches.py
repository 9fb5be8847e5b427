"""Model switches: each activation of a model bundle is a row, and the newest row names the model
every worker serves (chatbot/web/serving.py watches it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.storage.db import ModelSwitch


def latest(session: Session) -> ModelSwitch | None:
    """The newest switch, or None when no model was ever activated."""
    return session.scalar(select(ModelSwitch).order_by(ModelSwitch.id.desc()).limit(1))


def history(session: Session, limit: int) -> list[ModelSwitch]:
    """The last `limit` switches, newest first."""
    return list(session.scalars(select(ModelSwitch).order_by(ModelSwitch.id.desc()).limit(limit)))


def record(session: Session, model_dir: str, version: str, admin: str) -> ModelSwitch:
    """Append a switch to `model_dir`, committed, so every worker follows."""
    switch = ModelSwitch(model_dir=model_dir, version=version, admin=admin)
    session.add(switch)
    session.commit()
    return switch
