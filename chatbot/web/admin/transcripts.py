"""Transcript review: the inbox (filters, search, pages), one transcript, review notes, accepting
or rejecting visitors' corrections, delete, and the exports of the filtered set as JSONL (for
retraining; `?text_only=1` keeps only the words) and CSV (for spreadsheets)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from chatbot.storage import transcripts
from chatbot.storage.search import Filters
from chatbot.web.admin.auth import current_admin
from chatbot.web.database import get_session

bp = Blueprint("admin_transcripts", __name__, url_prefix="/admin")


@bp.get("/")
def inbox() -> str:
    filters = Filters.from_args(request.args)
    session = get_session()
    page = transcripts.inbox(session, filters, request.args.get("page", 1, type=int) or 1)
    return render_template("admin/inbox.html", page=page, filters=filters,
                           args=filters.to_args(), models=transcripts.model_versions(session))


@bp.get("/transcripts/<int:conversation_id>")
def show(conversation_id: int) -> str:
    conversation = transcripts.transcript(get_session(), conversation_id)
    if conversation is None:
        abort(404, description=_("No such conversation."))
    return render_template("admin/transcript.html", conversation=conversation,
                           review=transcripts.review_of(get_session(), conversation_id),
                           back=request.args.get("back", ""))


@bp.post("/transcripts/<int:conversation_id>/review")
def review(conversation_id: int) -> BaseResponse:
    if transcripts.transcript(get_session(), conversation_id) is None:
        abort(404, description=_("No such conversation."))
    transcripts.set_review(get_session(), conversation_id, current_admin().name,
                           flagged=bool(request.form.get("flagged")),
                           reviewed=bool(request.form.get("reviewed")),
                           tags=request.form.get("tags", ""))
    flash(_("Review saved."))
    return redirect(url_for(".show", conversation_id=conversation_id))


@bp.post("/corrections/<int:correction_id>/<any(accept, reject, reopen):action>")
def correction(correction_id: int, action: str) -> BaseResponse:
    status = {"accept": "accepted", "reject": "rejected", "reopen": "pending"}[action]
    reviewed = transcripts.review_correction(get_session(), correction_id, current_admin().name,
                                             status)
    if reviewed is None:
        abort(404, description=_("No such correction."))
    messages = {"accepted": _("Correction accepted: it is a training target now."),
                "rejected": _("Correction rejected."), "pending": _("Correction reopened.")}
    flash(messages[status])
    conversation_id = reviewed.message.conversation_id
    return redirect(url_for(".show", conversation_id=conversation_id,
                            _anchor=f"m{reviewed.message_id}"))


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
                     "application/x-ndjson", "lembra-transcripts.jsonl")


@bp.get("/export.csv")
def export_csv() -> Response:
    filters = Filters.from_args(request.args)
    return _download(transcripts.export_csv(get_session(), filters),
                     "text/csv", "lembra-transcripts.csv")
