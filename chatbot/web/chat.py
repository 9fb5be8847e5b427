"""The chat page: one template; the scripts in static/js do the rest through the JSON API.

`/c/<id>` is the same page opened on one conversation, so a reload keeps the visitor where
they were; another visitor's id is a 404 like everywhere else.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from chatbot.options import page_defaults
from chatbot.storage.db import TITLE_CHARS
from chatbot.web.api import owned_conversation
from chatbot.web.explaining import model_pieces
from chatbot.web.i18n import page_modes, script_strings
from chatbot.web.schema import COMMENT_CHARS
from chatbot.web.security import csrf_token
from chatbot.web.serving import model_status
from chatbot.web.visitor import current_visitor

bp = Blueprint("chat", __name__)


def _page(conversation_id: int | None) -> str:
    loaded, model = model_status()
    return render_template(
        "chat/index.html",
        conversation_id=conversation_id,
        csrf_token=csrf_token(current_visitor()),
        strings=script_strings(),
        defaults=page_defaults(),
        modes=page_modes(),
        limits=page_limits(),
        model_loaded=loaded,
        model=model,
        model_pieces=model_pieces(),
    )


def page_limits() -> dict[str, int]:
    """The lengths the server enforces, in characters (code points), so the page caps its text
    boxes at the same numbers instead of repeating them."""
    return {"message": current_app.config["MAX_MESSAGE_CHARS"], "comment": COMMENT_CHARS,
            "title": TITLE_CHARS}


@bp.get("/")
def index() -> str:
    return _page(None)


@bp.get("/c/<int:conversation_id>")
def conversation(conversation_id: int) -> str:
    return _page(owned_conversation(conversation_id).id)
