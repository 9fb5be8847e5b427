"""chatbot.bundle, directly: what a bundle is, its version, and the errors a broken one gives."""

import json
import shutil

import pytest

from chatbot.bundle import (
    CONFIG_FILE,
    METRICS_FILE,
    RERANK_FILE,
    TOKENIZER_FILE,
    BundleError,
    bundle_version,
    check_bundle,
    is_bundle,
    load_bundle,
    read_metrics,
)


@pytest.fixture
def copy(tiny_bundle, tmp_path):
    out = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, out)
    return out


def test_a_bundle_needs_its_model_tokenizer_and_config(copy, tmp_path):
    assert is_bundle(copy) and check_bundle(copy) == copy
    (copy / TOKENIZER_FILE).unlink()
    assert not is_bundle(copy)
    with pytest.raises(BundleError, match=f"missing {TOKENIZER_FILE}"):
        check_bundle(copy)
    with pytest.raises(BundleError, match="not a directory"):
        check_bundle(tmp_path / "nowhere")


def test_the_version_follows_the_files_that_decide_replies(copy):
    before = bundle_version(copy)
    assert before.startswith("bundle-") and bundle_version(copy) == before
    (copy / METRICS_FILE).write_text("{}")  # figures do not change replies
    assert bundle_version(copy) == before
    (copy / RERANK_FILE).write_text(json.dumps({"backward": 0.1, "length": 0.5}))
    assert bundle_version(copy) != before


@pytest.mark.parametrize(("name", "text", "reason"), [
    (CONFIG_FILE, "{not json", CONFIG_FILE), (CONFIG_FILE, '{"dropout": 2}', "dropout"),
    (TOKENIZER_FILE, "not a model", "cannot load tokenizer"),
    (RERANK_FILE, '{"length": 1}', RERANK_FILE)])
def test_a_broken_file_is_named_in_the_error(copy, name, text, reason):
    (copy / name).write_text(text)
    with pytest.raises(BundleError, match=reason):
        load_bundle(copy)


def test_metrics_are_optional(copy):
    (copy / METRICS_FILE).unlink(missing_ok=True)
    assert read_metrics(copy) == {}
    (copy / METRICS_FILE).write_text('{"bleu": 0.3}')
    assert read_metrics(copy) == {"bleu": 0.3}
