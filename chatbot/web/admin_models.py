"""Models: the bundles under `models_root` with their metrics and curves, each fine-tuned bundle
beside its parent (its figures on the transcripts' test slice and the base test split next to the
parent's), which one this worker serves, the history of switches, and activating another (every
worker follows; see chatbot.model_registry)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from chatbot.bundle import BundleError
from chatbot.db import ModelSwitch, get_session
from chatbot.model_registry import CURVES_FILE, FIGURES, WATCHER, bundle_dir, list_bundles
from chatbot.web.admin_auth import current_admin
from chatbot.web.replies import model_status

bp = Blueprint("admin_models", __name__, url_prefix="/admin")
HISTORY = 20


def _bundle(name: str):
    try:
        return bundle_dir(current_app.config["MODELS_ROOT"], name)
    except BundleError:
        abort(404, description=_("No such model bundle."))


@bp.get("/models")
def models() -> str:
    loaded, serving = model_status()
    switches = get_session().scalars(
        select(ModelSwitch).order_by(ModelSwitch.id.desc()).limit(HISTORY)).all()
    bundles = list_bundles(current_app.config["MODELS_ROOT"])
    return render_template("admin/models.html", bundles=bundles,
                           by_name={b.name: b for b in bundles}, figures=FIGURES,
                           loaded=loaded, serving=serving, switches=switches,
                           active_dir=switches[0].model_dir if switches else None)


@bp.get("/models/<name>/curves.png")
def curves(name: str):
    path = _bundle(name) / CURVES_FILE
    if not path.is_file():
        abort(404, description=_("This bundle has no curves.png."))
    return send_file(path, mimetype="image/png", max_age=0)


@bp.post("/models/<name>/activate")
def activate(name: str) -> BaseResponse:
    path = _bundle(name)
    try:
        switch = current_app.extensions[WATCHER].activate(path, current_admin().name)
    except Exception as exc:  # a broken bundle: keep the current model, tell the admin why
        current_app.logger.exception("activating %s failed", path)
        flash(_("Could not load %(name)s: %(error)s", name=name, error=str(exc) or type(exc).__name__),
              "error")
        return redirect(url_for(".models"))
    flash(_("Now serving %(version)s; the other workers switch within seconds.",
            version=switch.version))
    return redirect(url_for(".models"))
