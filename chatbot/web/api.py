"""The JSON API the page uses (and curl can): conversations, messages, feedback, corrections,
explanations.

Every query is scoped to the visitor's id, so another visitor's conversation answers 404 exactly
like a missing one. Posting a message commits the user's turn before the model runs, so a slow
reply never holds a database transaction open; the reply is committed afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from chatbot.db import (
    Conversation,
    Correction,
    Feedback,
    Message,
    get_session,
    utcnow,
)
from chatbot.web import schema
from chatbot.web.errors import json_error
from chatbot.web.replies import (
    ModelUnavailable,
    explain_reply,
    generate,
    history_turns,
    parse_options,
)
from chatbot.web.security import csrf_token
from chatbot.web.visitor import current_visitor

if TYPE_CHECKING:  # chatbot.bot imports TensorFlow; the views only need the names
    from chatbot.bot import Reply
    from chatbot.decoding import DecodeOptions

bp = Blueprint("api", __name__, url_prefix="/api")
LIST_LIMIT = 200
MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL; a larger one in a URL cannot exist


@bp.errorhandler(schema.Invalid)
def _invalid(exc: schema.Invalid) -> tuple[Response, int]:
    return json_error(422, str(exc))


def owned_conversation(conversation_id: int) -> Conversation:
    if conversation_id > MAX_ID:
        abort(404, description="conversation not found")
    conversation = get_session().scalar(select(Conversation).where(
        Conversation.id == conversation_id, Conversation.visitor_id == current_visitor()))
    if conversation is None:
        abort(404, description="conversation not found")
    return conversation


def owned_message(message_id: int) -> Message:
    if message_id > MAX_ID:
        abort(404, description="message not found")
    message = get_session().scalar(
        select(Message).join(Conversation).where(
            Message.id == message_id, Conversation.visitor_id == current_visitor()))
    if message is None:
        abort(404, description="message not found")
    return message


def _turns(conversation_id: int, before_id: int | None = None) -> list[tuple[str, str]]:
    query = select(Message.role, Message.text).where(Message.conversation_id == conversation_id)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    return [tuple(row) for row in get_session().execute(query.order_by(Message.id))]


def _options_and_explain(data: dict) -> tuple[DecodeOptions, bool]:
    raw = data.get("options")
    if raw is not None and not isinstance(raw, dict):
        raise schema.Invalid("options: options must be an object")
    try:
        options = parse_options(raw)
    except (ValueError, OverflowError) as exc:  # OverflowError: JSON's Infinity as an integer
        raise schema.Invalid(f"options: {exc}") from exc
    return options, schema.flag(data.get("explain"), "explain")


def _store_reply(conversation: Conversation, reply: Reply) -> Message:
    message = Message(conversation_id=conversation.id, role="bot", text=reply.text,
                      model_version=reply.model_version, options=reply.options,
                      latency_ms=round(reply.latency_ms, 1), explanation=reply.explanation,
                      feedback=None, corrections=[])
    conversation.updated_at = utcnow()
    get_session().add(message)
    return message


@bp.get("/csrf")
def get_csrf() -> Response:
    """The token for X-CSRF-Token, for clients other than the page (which has it in a meta tag)."""
    return jsonify(csrf_token=csrf_token(current_visitor()))


@bp.get("/conversations")
def list_conversations() -> Response:
    query = select(Conversation).where(Conversation.visitor_id == current_visitor())
    search = request.args.get("q", "").replace("\x00", "").strip().lower()
    if search:
        in_messages = exists().where(Message.conversation_id == Conversation.id,
                                     func.lower(Message.text).contains(search, autoescape=True))
        query = query.where(or_(func.lower(Conversation.title).contains(search, autoescape=True),
                                in_messages))
    limit = max(1, min(request.args.get("limit", LIST_LIMIT, type=int) or LIST_LIMIT, LIST_LIMIT))
    rows = get_session().scalars(
        query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit))
    return jsonify(conversations=[schema.conversation_json(c) for c in rows])


@bp.post("/conversations")
def create_conversation() -> tuple[Response, int]:
    data = schema.json_body()
    title = data.get("title", "")
    if not isinstance(title, str):
        raise schema.Invalid("title must be a string")
    title = schema.storable(title, "title")
    conversation = Conversation(visitor_id=current_visitor(), title=schema.title_from(title))
    session = get_session()
    session.add(conversation)
    session.commit()
    return jsonify(schema.conversation_json(conversation, [])), 201


@bp.get("/conversations/<int:conversation_id>")
def get_conversation(conversation_id: int) -> Response:
    conversation = owned_conversation(conversation_id)
    messages = get_session().scalars(
        select(Message).where(Message.conversation_id == conversation.id)
        .options(selectinload(Message.feedback), selectinload(Message.corrections))
        .order_by(Message.id)).all()
    return jsonify(schema.conversation_json(conversation, list(messages)))


@bp.delete("/conversations/<int:conversation_id>")
def delete_conversation(conversation_id: int) -> tuple[str, int]:
    session = get_session()
    session.delete(owned_conversation(conversation_id))
    session.commit()
    return "", 204


@bp.post("/conversations/<int:conversation_id>/messages")
def post_message(conversation_id: int) -> tuple[Response, int]:
    conversation = owned_conversation(conversation_id)
    data = schema.json_body()
    text = schema.message_text(data.get("text"))
    options, explain = _options_and_explain(data)
    session = get_session()
    turns = _turns(conversation.id)  # every stored message: their number is the turn count too
    if len(turns) >= current_app.config["MAX_TURNS"]:
        raise schema.Invalid("this conversation is full; start a new one")
    history = history_turns([*turns, ("user", text)])

    user = Message(conversation_id=conversation.id, role="user", text=text)
    if not conversation.title:
        conversation.title = schema.title_from(text)
    conversation.updated_at = utcnow()
    session.add(user)
    session.commit()  # the user's turn is safe before the (slow) model runs
    user_json = schema.message_json(user)

    try:
        reply = generate(history, options, explain)
    except ModelUnavailable as exc:
        return json_error(503, f"Your message was saved, but {exc}.", user=user_json)
    message = _store_reply(conversation, reply)
    session.commit()
    return jsonify(user=user_json, reply=schema.message_json(message)), 201


@bp.post("/conversations/<int:conversation_id>/reply")
def regenerate_reply(conversation_id: int) -> tuple[Response, int]:
    """Answer the last user message again: a retry after a failure, or a regenerate."""
    conversation = owned_conversation(conversation_id)
    options, explain = _options_and_explain(schema.json_body())
    session = get_session()
    last = session.scalar(select(Message).where(Message.conversation_id == conversation.id)
                          .order_by(Message.id.desc()).limit(1))
    if last is None:
        raise schema.Invalid("there is no message to reply to")
    replaced = last if last.role == "bot" else None
    history = history_turns(_turns(conversation.id, replaced.id if replaced else None))
    session.commit()  # end the read transaction before the model runs

    try:
        reply = generate(history, options, explain)
    except ModelUnavailable as exc:
        return json_error(503, f"No new reply: {exc}.")
    if replaced is not None:
        session.delete(replaced)
    message = _store_reply(conversation, reply)
    session.commit()
    return jsonify(reply=schema.message_json(message),
                   replaced=replaced.id if replaced else None), 201


@bp.post("/messages/<int:message_id>/feedback")
def post_feedback(message_id: int) -> Response:
    message = owned_message(message_id)
    if message.role != "bot":
        raise schema.Invalid("feedback is for the bot's replies")
    data = schema.json_body()
    rating, comment = schema.rating(data.get("rating")), schema.comment(data.get("comment"))
    session = get_session()
    feedback = session.get(Feedback, message.id) or Feedback(message_id=message.id)
    feedback.rating, feedback.comment, feedback.created_at = rating, comment, utcnow()
    session.add(feedback)
    session.commit()
    return jsonify(message_id=message.id, feedback=schema.feedback_json(feedback))


@bp.delete("/messages/<int:message_id>/feedback")
def delete_feedback(message_id: int) -> tuple[str, int]:
    message = owned_message(message_id)
    session = get_session()
    feedback = session.get(Feedback, message.id)
    if feedback is not None:
        session.delete(feedback)
        session.commit()
    return "", 204


@bp.post("/messages/<int:message_id>/correction")
def post_correction(message_id: int) -> tuple[Response, int]:
    """A better answer for one of the bot's replies, kept for an admin to accept or reject."""
    message = owned_message(message_id)
    if message.role != "bot":
        raise schema.Invalid("corrections are for the bot's replies")
    text = schema.message_text(schema.json_body().get("text"), "text")
    correction = Correction(message_id=message.id, text=text, status="pending")
    session = get_session()
    session.add(correction)
    session.commit()
    return jsonify(schema.correction_json(correction)), 201


@bp.get("/messages/<int:message_id>/explanation")
def get_explanation(message_id: int) -> Response | tuple[Response, int]:
    """The stored attention and gates of a reply, recomputed (and stored) when missing.

    Recomputing steps the model through the stored reply (teacher forcing), so it explains
    exactly that text; `exact` is false only when a different model version is serving now.
    """
    message = owned_message(message_id)
    if message.role != "bot":
        raise schema.Invalid("only the bot's replies have an explanation")
    if message.explanation is not None:
        return jsonify(message_id=message.id, exact=True, explanation=message.explanation)
    history = history_turns(_turns(message.conversation_id, message.id))
    session = get_session()
    session.commit()
    try:
        explanation, version = explain_reply(history, message.text)
    except ModelUnavailable as exc:
        return json_error(503, f"Cannot explain this reply: {exc}.")
    exact = version == message.model_version
    if exact:
        message.explanation = explanation
        session.commit()
    return jsonify(message_id=message.id, exact=exact, explanation=explanation)


@bp.get("/export")
def export() -> Response:
    """All of this visitor's conversations with their messages, as a JSON download."""
    conversations = get_session().scalars(
        select(Conversation).where(Conversation.visitor_id == current_visitor())
        .options(selectinload(Conversation.messages).selectinload(Message.feedback),
                 selectinload(Conversation.messages).selectinload(Message.corrections))
        .order_by(Conversation.created_at)).all()
    response = jsonify(conversations=[schema.conversation_json(c, c.messages)
                                      for c in conversations])
    response.headers["Content-Disposition"] = 'attachment; filename="lembra-conversations.json"'
    return response
