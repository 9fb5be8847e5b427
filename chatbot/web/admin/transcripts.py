"""Transcript review: the inbox (filters, search, triage sorts, pages), one transcript with
previous/next links that keep the filters, review notes, the queue of visitors' pending
suggestions (accept, edit and accept, reject), corrections reviewers write, delete, and the exports
of the filtered set as JSONL (for retraining; `?text_only=1` keeps only the words) and CSV (for
spreadsheets)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from chatbot import confidence
from chatbot.options import find_mode
from chatbot.storage import transcripts
from chatbot.storage.db import TAGS_CHARS
from chatbot.storage.search import Filters
from chatbot.web import schema
from chatbot.web.admin.auth import current_admin
from chatbot.web.database import get_session
from chatbot.web.errors import json_error
from chatbot.web.explaining import confidence_word, explanation_for
from chatbot.web.i18n import script_strings
from chatbot.web.serving import ModelUnavailable

bp = Blueprint("admin_transcripts", __name__, url_prefix="/admin")


@bp.app_template_filter("applied_options")
def applied_options(options: dict) -> list[tuple[str, object]]:
    """The mode first, then only the options that shaped a reply decoded with it (the rest
    are stored but did not apply to that reply)."""
    mode = find_mode(options.get("mode"))
    if mode is None:  # an unknown mode: show everything rather than guess
        return sorted(options.items())
    return [("mode", mode.name), *((k, options[k]) for k in mode.applies if k in options)]


@bp.app_template_filter("confidence")
def confidence_label(mean_logp: float | None) -> Markup:
    """The word the visitor's panel uses for a stored confidence, with the share on hover."""
    if mean_logp is None:
        return Markup("—")
    share = confidence.share(mean_logp)
    return Markup('<span class="confidence-level" data-share="{:.3f}" title="{}">{}</span>').format(
        share, _("%(p)s%% (how sure the model was of each piece, on average)", p=round(share * 100)),
        confidence_word(confidence.level(share)))


@bp.app_context_processor
def _navigation() -> dict:
    # A function, so only pages that show the count (the admin's) query it.
    return {"pending_suggestions": lambda: transcripts.pending_count(get_session()),
            "tags_chars": TAGS_CHARS}


def _problems(filters: Filters) -> list[str]:
    """What the inbox ignored in the query string, in the admin's language."""
    names = {"from": _("From"), "to": _("To"), "min": _("Messages from"),
             "max": _("Messages up to"), "below": _("Confidence below"), "sort": _("Sort"),
             "support": _("Visitor needed support")}
    said = {"date": _("%(field)s: “%(value)s” is not a date (YYYY-MM-DD), so it was ignored."),
            "number": _("%(field)s: “%(value)s” is not a number, so it was ignored."),
            "inverted": _("The date range %(value)s ends before it starts, so it was ignored."),
            "sort": _("%(field)s: “%(value)s” is not a sort order, so it was ignored."),
            "support": _("%(field)s: “%(value)s” is not sad or crisis, so it was ignored.")}
    return [said[kind] % {"field": names.get(name, name), "value": value}
            for kind, name, value in filters.problems]


@bp.get("/")
def inbox() -> str:
    filters = Filters.from_args(request.args)
    session = get_session()
    page = transcripts.inbox(session, filters, schema.int_arg("page", 1, low=1, high=10**6))
    return render_template("admin/inbox.html", page=page, filters=filters,
                           args=filters.to_args(), models=transcripts.model_versions(session),
                           problems=_problems(filters))


@bp.get("/transcripts/<int:conversation_id>")
def show(conversation_id: int) -> str:
    session = get_session()
    conversation = transcripts.transcript(session, conversation_id)
    if conversation is None:
        abort(404, description=_("No such conversation."))
    filters = Filters.from_args(request.args)
    previous, following = transcripts.neighbours(session, filters, conversation_id)
    return render_template("admin/transcript.html", conversation=conversation,
                           shown=transcripts.shown_with_versions(conversation),
                           review=transcripts.review_of(session, conversation_id),
                           args=filters.to_args(), previous=previous, following=following)


@bp.post("/transcripts/<int:conversation_id>/review")
def review(conversation_id: int) -> BaseResponse:
    if transcripts.transcript(get_session(), conversation_id) is None:
        abort(404, description=_("No such conversation."))
    transcripts.set_review(get_session(), conversation_id, current_admin().name,
                           flagged=bool(request.form.get("flagged")),
                           reviewed=bool(request.form.get("reviewed")),
                           tags=request.form.get("tags", ""))
    flash(_("Review saved."))
    return redirect(url_for(".show", conversation_id=conversation_id, **_kept_filters()))


def _kept_filters() -> dict[str, str]:
    """The inbox filters a form carried along (hidden `keep` field), so the page it returns to
    keeps its previous/next links."""
    return Filters.from_args(dict(parse_qsl(request.form.get("keep", "")))).to_args()


def _correction_text() -> str:
    try:
        return schema.message_text(request.form.get("text"), _("The answer"))
    except schema.Invalid as exc:
        abort(422, description=str(exc))


@bp.post("/corrections/<int:correction_id>/<any(accept, reject, reopen):action>")
def correction(correction_id: int, action: str) -> BaseResponse:
    status = {"accept": "accepted", "reject": "rejected", "reopen": "pending"}[action]
    edited = _correction_text() if action == "accept" and "text" in request.form else None
    reviewed = transcripts.review_correction(get_session(), correction_id, current_admin().name,
                                             status, edited)
    if reviewed is None:
        abort(404, description=_("No such correction."))
    messages = {"accepted": _("Correction accepted: it is a training target now."),
                "rejected": _("Correction rejected."), "pending": _("Correction reopened.")}
    flash(messages[status])
    if request.form.get("next") == "queue":
        return redirect(url_for(".queue", after=correction_id))
    conversation_id = reviewed.message.conversation_id
    return redirect(url_for(".show", conversation_id=conversation_id, **_kept_filters(),
                            _anchor=f"m{reviewed.message_id}"))


@bp.post("/messages/<int:message_id>/correction")
def write_correction(message_id: int) -> BaseResponse:
    """A reviewer's own better answer for a bot reply: accepted at once, under their name."""
    session = get_session()
    message = transcripts.bot_reply(session, message_id)
    if message is None:
        abort(404, description=_("No such reply."))
    transcripts.write_correction(session, message, current_admin().name, _correction_text())
    flash(_("Your answer is saved as an accepted correction: it is a training target now."))
    return redirect(url_for(".show", conversation_id=message.conversation_id,
                            **_kept_filters(), _anchor=f"m{message_id}"))


@bp.get("/suggestions")
def queue() -> str:
    """Visitors' pending suggestions, one at a time, oldest first."""
    item = transcripts.next_pending(get_session(), schema.int_arg("after", 0))
    return render_template("admin/queue.html", item=item)


@bp.post("/transcripts/<int:conversation_id>/delete")
def delete(conversation_id: int) -> BaseResponse:
    session = get_session()
    conversation = transcripts.transcript(session, conversation_id)
    if conversation is None:
        abort(404, description=_("No such conversation."))
    if request.form.get("confirm") != "yes":
        abort(400, description=_("Tick the box to confirm the deletion."))
    transcripts.delete(session, conversation)
    flash(_("Conversation %(id)s deleted.", id=conversation_id))
    return redirect(url_for(".inbox"))


def _download(body, mimetype: str, filename: str) -> Response:
    # The context stays open while the rows stream, so the request's session is closed after.
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.jsonl")
def export_jsonl() -> Response:
    filters = Filters.from_args(request.args)
    text_only = request.args.get("text_only") in ("1", "on", "true")
    return _download(transcripts.export_jsonl(get_session(), filters, text_only),
                     "application/x-ndjson",
                     "lembra-transcripts-text-only.jsonl" if text_only else "lembra-transcripts.jsonl")


@bp.get("/export.csv")
def export_csv() -> Response:
    filters = Filters.from_args(request.args)
    return _download(transcripts.export_csv(get_session(), filters),
                     "text/csv", "lembra-transcripts.csv")


@bp.get("/messages/<int:message_id>/explanation")
def explanation(message_id: int) -> Response | tuple[Response, int]:
    """The visitor's "Why this reply?" for any bot reply, for the transcript's panel."""
    message = transcripts.bot_reply(get_session(), message_id)
    if message is None:
        return json_error(404, "reply not found")
    try:
        data, exact = explanation_for(get_session(), message)
    except ModelUnavailable as exc:
        return json_error(503, f"Cannot explain this reply: {exc}.")
    return jsonify(message_id=message.id, exact=exact, explanation=data)


@bp.app_context_processor
def _explain_strings() -> dict:
    # A function, so only the transcript page (which shows the panel) builds them.
    return {"explain_strings": script_strings}
