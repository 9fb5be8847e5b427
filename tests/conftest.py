"""Shared fixtures: a tiny model really trained by the training pipeline, in seconds."""

import os
import sqlite3  # noqa: F401  (before TensorFlow, whose bundled SQLite lacks FTS5)

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY_MODEL_ARGS = [
    "--corpus", "chitchat", "--max-pairs", "400", "--epochs", "2", "--batch-size", "32",
    "--vocab-size", "300", "--embed-dim", "24", "--enc-units", "24", "--dropout", "0.0",
    "--learning-rate", "0.01", "--eval-limit", "0", "--seed", "7",
]


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """A bundle trained on 400 Chit-Chat pairs: real tokenizer, real weights, real files."""
    from train.train import main

    out = tmp_path_factory.mktemp("tiny_bundle")
    assert main([*TINY_MODEL_ARGS, "--out", str(out)]) == 0
    return out
