"""The JSON API the page uses (and curl can): conversations, messages, feedback, corrections,
explanations.

The views parse the request, call `chatbot.storage.conversations` and the bot
(`chatbot.web.serving`), and answer. Another visitor's conversation answers 404 exactly like a
missing one. Posting a message commits the user's turn before the model runs, so a slow reply
never holds a database transaction open; the reply is committed afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_babel import gettext
from sqlalchemy.exc import OperationalError

from chatbot.storage import conversations
from chatbot.storage.db import Conversation, Message
from chatbot.support import CRISIS, classify
from chatbot.web import schema
from chatbot.web.database import get_session
from chatbot.web.errors import database_problem, json_error
from chatbot.web.explaining import explanation_for
from chatbot.web.export import conversation_markdown
from chatbot.web.security import csrf_token
from chatbot.web.serving import ModelUnavailable, generate, parse_options
from chatbot.web.support import SUPPORT_VERSION, crisis_reply, needs_crisis_reply
from chatbot.web.visitor import current_visitor

if TYPE_CHECKING:  # chatbot.bot imports TensorFlow; the views only need the names
    from chatbot.bot import Reply
    from chatbot.decoding import DecodeOptions

bp = Blueprint("api", __name__, url_prefix="/api")
LIST_LIMIT = 200


@bp.errorhandler(schema.Invalid)
@bp.errorhandler(conversations.Refused)
def _invalid(exc: ValueError) -> tuple[Response, int]:
    return json_error(422, str(exc))


def owned_conversation(conversation_id: int) -> Conversation:
    conversation = conversations.owned_conversation(get_session(), current_visitor(), conversation_id)
    if conversation is None:
        abort(404, description="conversation not found")
    return conversation


def _owned_message(message_id: int) -> Message:
    message = conversations.owned_message(get_session(), current_visitor(), message_id)
    if message is None:
        abort(404, description="message not found")
    return message


def _owned_reply(message_id: int, refusal: str) -> Message:
    """The visitor's bot reply `message_id`: 404 when it is not theirs, 422 for their own turns."""
    message = _owned_message(message_id)
    if message.role != "bot":
        raise schema.Invalid(refusal)
    return message


def _options_and_explain(data: dict) -> tuple[DecodeOptions, bool]:
    raw = data.get("options")
    if raw is not None and not isinstance(raw, dict):
        raise schema.Invalid("options: options must be an object")
    nulls = sorted(str(key) for key, value in (raw or {}).items() if value is None and key != "seed")
    if nulls:  # leave an option out for its default; null is only a value for seed (a random one)
        raise schema.Invalid(f"options: {', '.join(nulls)} must not be null")
    try:
        options = parse_options(raw)
    except (ValueError, TypeError, OverflowError) as exc:  # Overflow: JSON's Infinity as an int
        raise schema.Invalid(f"options: {exc}") from exc
    return options, schema.flag(data.get("explain"), "explain")


def _store_reply(conversation: Conversation, reply: Reply, replaces: Message | None = None) -> Message:
    return conversations.add_reply(
        get_session(), conversation, reply.text, model_version=reply.model_version,
        options=reply.options, latency_ms=reply.latency_ms, explanation=reply_record(reply),
        confidence=reply.confidence, replaces=replaces)


def _store_crisis_reply(conversation: Conversation, message: str,
                        replaces: Message | None = None) -> Message:
    return conversations.add_reply(
        get_session(), conversation, crisis_reply(message), model_version=SUPPORT_VERSION,
        options={}, latency_ms=0.0, explanation={"support": CRISIS}, replaces=replaces)


def reply_record(reply: Reply) -> dict | None:
    """The explanation stored with a reply: the search's, plus the example it was written from
    and whether it was borrowed, so "Why this reply?" later explains it with that example."""
    record = dict(reply.explanation or {})
    if reply.exemplar is not None:
        record["written_from"] = reply.exemplar
    if reply.borrowed:
        record["borrowed"] = True
    return record or None


def _answer_saved_message(conversation: Conversation, history: list[str], options: DecodeOptions,
                          explain: bool, saved: dict, replaces: Message | None = None
                          ) -> Message | tuple[Response, int]:
    """The stored reply to a user turn already saved, or the 503 that says the turn is safe
    (no model, or the reply could not be stored, e.g. a full disk), with `saved` (what was
    stored) in its body. A crisis message gets the fixed reply written by people, never the
    model's (chatbot/web/support.py)."""
    if needs_crisis_reply(history[-1]):
        try:
            return _store_crisis_reply(conversation, history[-1], replaces)
        except OperationalError as exc:
            get_session().rollback()
            return json_error(503, f"Your message was saved, but its reply could not be: "
                                   f"{database_problem(exc)}.", **saved)
    try:
        reply = generate(history, options, explain)
    except ModelUnavailable as exc:
        return json_error(503, f"Your message was saved, but {exc}.", **saved)
    try:
        return _store_reply(conversation, reply, replaces=replaces)
    except OperationalError as exc:
        get_session().rollback()
        return json_error(503, f"Your message was saved, but its reply could not be: "
                               f"{database_problem(exc)}.", **saved)


@bp.get("/csrf")
def get_csrf() -> Response:
    """The token for X-CSRF-Token, for clients other than the page (which has it in a meta tag)."""
    return jsonify(csrf_token=csrf_token(current_visitor()))


@bp.get("/conversations")
def list_conversations() -> Response:
    query = request.args.get("q", "").replace("\x00", "").strip()
    limit = schema.int_arg("limit", LIST_LIMIT, low=1, high=LIST_LIMIT)
    session = get_session()
    found = conversations.search(session, current_visitor(), query, limit)
    pieces = conversations.snippets(session, [c.id for c in found], query)
    listed = [schema.conversation_json(c) for c in found]
    if query:  # where the words were found, under each result (null: in the title only)
        listed = [{**data, "snippet": None if pieces.get(data["id"]) == data["title"]
                   else pieces.get(data["id"])} for data in listed]
    return jsonify(conversations=listed)


@bp.post("/conversations")
def create_conversation() -> tuple[Response, int]:
    title = schema.json_body().get("title", "")
    if not isinstance(title, str):
        raise schema.Invalid("title must be a string")
    conversation = conversations.create(get_session(), current_visitor(),
                                        schema.storable(title, "title"))
    return jsonify(schema.conversation_json(conversation, [])), 201


@bp.get("/conversations/<int:conversation_id>")
def get_conversation(conversation_id: int) -> Response:
    conversation = owned_conversation(conversation_id)
    session = get_session()
    return jsonify(schema.conversation_json(conversation, conversations.messages(session, conversation),
                                            conversations.all_messages(session, conversation.id)))


@bp.delete("/conversations/<int:conversation_id>")
def delete_conversation(conversation_id: int) -> tuple[str, int]:
    conversations.delete(get_session(), owned_conversation(conversation_id))
    return "", 204


@bp.patch("/conversations/<int:conversation_id>")
def rename_conversation(conversation_id: int) -> Response:
    conversation = owned_conversation(conversation_id)
    title = schema.json_body().get("title")
    if not isinstance(title, str) or not schema.visible(title):
        raise schema.Invalid("title must be a non-empty string")
    conversations.rename(get_session(), conversation, schema.storable(title, "title"))
    return jsonify(schema.conversation_json(conversation))


@bp.get("/conversations/<int:conversation_id>/export")
def export_conversation(conversation_id: int) -> Response:
    """One conversation as a download: `?format=json` (the default) or `?format=markdown`."""
    conversation = owned_conversation(conversation_id)
    kind = request.args.get("format", "json")
    if kind not in ("json", "markdown"):
        raise schema.Invalid("format must be json or markdown")
    session = get_session()
    messages = conversations.messages(session, conversation)
    if kind == "json":
        response = jsonify(schema.conversation_json(
            conversation, messages, conversations.all_messages(session, conversation.id)))
    else:
        names = {"user": gettext("You"), "bot": gettext("Lembra")}
        text = conversation_markdown(conversation, messages, names, gettext("New conversation"))
        response = Response(text, mimetype="text/markdown")
    extension = "json" if kind == "json" else "md"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="lembra-conversation-{conversation.id}.{extension}"')
    return response


@bp.post("/conversations/<int:conversation_id>/messages")
def post_message(conversation_id: int) -> tuple[Response, int]:
    conversation = owned_conversation(conversation_id)
    data = schema.json_body()
    text = schema.message_text(data.get("text"))
    options, explain = _options_and_explain(data)
    user, history = conversations.add_message(get_session(), conversation, text,
                                              current_app.config["MAX_TURNS"], classify(text))
    user_json = schema.message_json(user)  # the user's turn is safe before the (slow) model runs
    stored = _answer_saved_message(conversation, history, options, explain, {"user": user_json})
    if not isinstance(stored, Message):
        return stored
    return jsonify(user=user_json, reply=schema.message_json(stored)), 201


@bp.post("/conversations/<int:conversation_id>/reply")
def regenerate_reply(conversation_id: int) -> tuple[Response, int]:
    """Answer the last user message again: a retry after a failure, or a regenerate."""
    conversation = owned_conversation(conversation_id)
    options, explain = _options_and_explain(schema.json_body())
    conversations.refuse_another_version(get_session(), conversation)
    history, replaced = conversations.history_to_answer_again(get_session(), conversation)
    avoid = conversations.version_texts(get_session(), replaced) if replaced else None
    if needs_crisis_reply(history[-1]):
        message = _store_crisis_reply(conversation, history[-1], replaces=replaced)
    else:
        try:
            reply = generate(history, options, explain, avoid=avoid)
        except ModelUnavailable as exc:
            return json_error(503, f"No new reply: {exc}.")
        message = _store_reply(conversation, reply, replaces=replaced)
    chain = conversations.versions(get_session(), conversation.id).get(message.id, [message])
    return jsonify(reply=schema.message_json(message, chain),
                   replaced=replaced.id if replaced else None), 201


@bp.patch("/messages/<int:message_id>")
def edit_message(message_id: int) -> tuple[Response, int]:
    """Edit the visitor's last message and answer it again: the new wording starts a branch, the
    old one keeps its replies (`user.versions`), and `replaced` is the reply it hides."""
    message = _owned_message(message_id)
    data = schema.json_body()
    text = schema.message_text(data.get("text"))
    options, explain = _options_and_explain(data)
    session = get_session()
    conversation = message.conversation
    conversations.refuse_another_version(session, conversation)
    edited, hidden = conversations.edit_last_message(session, message, text, classify(text))
    user_json = _user_json(conversation.id, edited)
    history, replaced = conversations.history_to_answer_again(session, conversation)
    gone = (hidden or replaced).id if hidden or replaced else None
    stored = _answer_saved_message(conversation, history, options, explain,
                                   {"user": user_json, "replaced": gone}, replaced)
    if not isinstance(stored, Message):
        return stored
    chain = conversations.versions(session, conversation.id).get(stored.id, [stored])
    return jsonify(user=user_json, reply=schema.message_json(stored, chain), replaced=gone), 200


def _user_json(conversation_id: int, message: Message) -> dict:
    """A visitor's message with its wordings and, for the older ones, the replies they got."""
    rows = conversations.all_messages(get_session(), conversation_id)
    return schema.message_json(message, conversations.version_chains(rows).get(message.id),
                               conversations.branches(rows))


@bp.post("/messages/<int:message_id>/feedback")
def post_feedback(message_id: int) -> Response:
    message = _owned_reply(message_id, "feedback is for the bot's replies")
    data = schema.json_body()
    rating, comment = schema.rating(data.get("rating")), schema.comment(data.get("comment"))
    feedback = conversations.rate(get_session(), message, rating, comment)
    return jsonify(message_id=message.id, feedback=schema.feedback_json(feedback))


@bp.delete("/messages/<int:message_id>/feedback")
def delete_feedback(message_id: int) -> tuple[str, int]:
    conversations.unrate(get_session(), _owned_message(message_id))
    return "", 204


@bp.post("/messages/<int:message_id>/correction")
def post_correction(message_id: int) -> tuple[Response, int]:
    """A better answer for one of the bot's replies, kept for an admin to accept or reject."""
    message = _owned_reply(message_id, "corrections are for the bot's replies")
    text = schema.message_text(schema.json_body().get("text"), "text")
    correction = conversations.correct(get_session(), message, text)
    return jsonify(schema.correction_json(correction)), 201


@bp.get("/messages/<int:message_id>/explanation")
def get_explanation(message_id: int) -> Response | tuple[Response, int]:
    """The reply's explanation (chatbot/web/explaining.py), computed (and stored) when missing.

    Recomputing steps the model through the stored reply (teacher forcing), so it explains
    exactly that text; `exact` is false only when a different model version is serving now.
    """
    message = _owned_reply(message_id, "only the bot's replies have an explanation")
    try:
        explanation, exact = explanation_for(get_session(), message)
    except ModelUnavailable as exc:
        return json_error(503, f"Cannot explain this reply: {exc}.")
    return jsonify(message_id=message.id, exact=exact, explanation=explanation)


@bp.get("/export")
def export() -> Response:
    """All of this visitor's conversations with their messages, as a JSON download."""
    found = conversations.export(get_session(), current_visitor())
    response = jsonify(conversations=[
        schema.conversation_json(c, conversations.current(c.messages), c.messages) for c in found])
    response.headers["Content-Disposition"] = 'attachment; filename="lembra-conversations.json"'
    return response
