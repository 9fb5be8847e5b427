"""Models: bundles listed with metrics and curves, names that escape models_root refused, and
activation switching the bot of this worker at once and of every other worker soon after."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from chatbot.storage.db import ModelSwitch
from chatbot.web.admin.models import BundleInfo, list_bundles
from chatbot.web.database import get_session
from chatbot.web.serving import BOT, WATCHER


@pytest.fixture
def models_root(tmp_path, tiny_bundle):
    """Two copies of the tiny bundle (so two versions), and a directory that is not a bundle."""
    root = tmp_path / "models"
    for name, bleu in (("alpha", 0.125), ("beta", 0.25)):
        shutil.copytree(tiny_bundle, root / name, ignore=shutil.ignore_patterns("checkpoints"))
        (root / name / "metrics.json").write_text(json.dumps({"bleu": bleu, "note": name}))
    (root / "notes").mkdir()
    return root


@pytest.fixture
def served(make_app, bot, models_root):
    """An app serving the session's tiny bot, told to look for switches on every request."""
    def make():
        return make_app(BOT=bot, MODELS_ROOT=str(models_root), MODEL_CHECK_SECONDS=0,
                        WARM_UP=False)
    return make


def reply_version(visitor) -> str:
    conversation = visitor.new_conversation()
    response = visitor.post(f"/api/conversations/{conversation}/messages", {"text": "hello"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reply"]["model_version"]


def test_bundles_are_listed_with_metrics_and_curves(served, admin_for, models_root):
    assert [b.name for b in list_bundles(models_root)] in (["alpha", "beta"], ["beta", "alpha"])
    admin = admin_for(served())
    page = admin.get("/admin/models").get_data(as_text=True)
    assert "Activate alpha" in page and "Activate beta" in page and "notes" not in page
    assert "<dt>BLEU</dt><dd>0.125</dd>" in page and "<dt>bleu</dt>" not in page
    curves = admin.get("/admin/models/alpha/curves.png")
    assert curves.status_code == 200 and curves.data.startswith(b"\x89PNG")
    curves.close()  # send_file's open file


@pytest.mark.parametrize("name", ["..", ".alpha", "%2e%2e", "..%2f..%2fetc", "notes", "nope",
                                  "alpha%00", "~"])
def test_names_outside_the_root_are_refused(served, admin_for, name):
    admin = admin_for(served())
    assert admin.get(f"/admin/models/{name}/curves.png").status_code == 404
    assert admin.post(f"/admin/models/{name}/activate").status_code in (404, 405)


def test_a_folder_with_weights_but_no_tokenizer_is_not_a_bundle(served, admin_for, models_root):
    """The same check as loading (chatbot.bundle.is_bundle): never listed, never activated."""
    shutil.copytree(models_root / "alpha", models_root / "half")
    (models_root / "half" / "tokenizer.model").unlink()
    assert "half" not in [b.name for b in list_bundles(models_root)]
    admin = admin_for(served())
    assert "Activate half" not in admin.get("/admin/models").get_data(as_text=True)
    assert admin.post("/admin/models/half/activate").status_code == 404


def test_a_symlink_out_of_the_root_is_not_a_bundle(served, admin_for, models_root, tiny_bundle):
    (models_root / "outside").symlink_to(tiny_bundle)
    admin = admin_for(served())
    assert admin.get("/admin/models/outside/curves.png").status_code == 404
    assert "Activate outside" not in admin.get("/admin/models").get_data(as_text=True)


def test_activation_switches_the_next_reply_and_is_recorded(served, admin_for, visitor_for,
                                                            models_root):
    app = served()
    admin, visitor = admin_for(app), visitor_for(app)
    first = reply_version(visitor)
    assert admin.post("/admin/models/alpha/activate").status_code == 302
    assert reply_version(visitor).startswith("alpha-")
    assert admin.post("/admin/models/beta/activate").status_code == 302
    assert reply_version(visitor).startswith("beta-")
    assert first != "alpha" and not first.startswith(("alpha-", "beta-"))
    with app.app_context():
        switches = get_session().scalars(select(ModelSwitch).order_by(ModelSwitch.id)).all()
    assert [(s.model_dir.rsplit("/", 1)[1], s.admin) for s in switches] == [
        ("alpha", "root"), ("beta", "root")]
    assert switches[1].version.startswith("beta-")
    page = admin.get("/admin/models").get_data(as_text=True)
    assert "beta-" in page and 'id="serving"' in page
    assert "Activate beta" not in page and "Activate alpha" in page  # not offered on the active one
    assert f">{models_root}" not in page and "<code title=" in page  # names, not absolute paths
    again = admin.post("/admin/models/beta/activate", follow_redirects=True)
    assert "already the active model" in again.get_data(as_text=True)
    with app.app_context():
        assert len(get_session().scalars(select(ModelSwitch)).all()) == 2  # no switch logged


def test_other_workers_follow_without_failing_requests(served, admin_for, visitor_for):
    worker_a, worker_b = served(), served()  # two gunicorn workers on one database
    visitor_b = visitor_for(worker_b)
    old = reply_version(visitor_b)
    assert admin_for(worker_a).post("/admin/models/beta/activate").status_code == 302
    # The next request on B starts the load in the background and is served by the old bot.
    assert reply_version(visitor_b) in (old, worker_a.extensions[BOT].version)
    worker_b.extensions[WATCHER].wait(120)
    assert reply_version(visitor_b).startswith("beta-")


def test_a_broken_bundle_is_refused_and_not_recorded(served, admin_for, visitor_for, models_root):
    shutil.copytree(models_root / "alpha", models_root / "broken")  # every file a bundle needs
    (models_root / "broken" / "model.keras").write_bytes(b"not a model")  # but corrupt weights
    app = served()
    admin = admin_for(app)
    before = app.extensions[BOT].version
    response = admin.post("/admin/models/broken/activate", follow_redirects=True)
    assert "Could not load broken" in response.get_data(as_text=True)
    assert app.extensions[BOT].version == before
    with app.app_context():
        assert get_session().scalar(select(ModelSwitch)) is None


def test_a_new_worker_starts_on_the_activated_model(served, make_app, admin_for, models_root):
    assert admin_for(served()).post("/admin/models/alpha/activate").status_code == 302
    fresh = make_app(LOAD_MODEL=True, MODEL_DIR=str(models_root / "missing"),
                     MODELS_ROOT=str(models_root), WARM_UP=False)
    assert fresh.extensions[BOT].version.startswith("alpha-")


def test_a_parent_that_is_not_shipped_is_named_from_the_stored_figures(tmp_path):
    """The shipped default replaced its parent in the same directory: the page names the
    parent's version from metrics.json and compares with its stored figures, not with itself."""
    metrics = {"test": {"bleu": 0.7}, "previous": {"version": "old_default-b4e648ab",
                                                   "default": {"bleu": 0.4}}}
    bundle = BundleInfo("default", tmp_path, metrics, False, datetime.now(UTC), parent="default")
    listed = {"default": bundle}
    assert not bundle.shipped_parent(listed)
    assert bundle.parent_label(listed) == "old_default-b4e648ab"
    assert bundle.parent_evaluation(listed) == {"bleu": 0.4}
