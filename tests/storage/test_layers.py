"""The storage layer stays below the web: no module under chatbot/storage imports Flask or
chatbot.web, so the queries can run from a script, a migration check or training."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STORAGE = Path(__file__).resolve().parents[2] / "chatbot" / "storage"
FORBIDDEN = ("flask", "chatbot.web")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(STORAGE.glob("*.py")), ids=lambda p: p.name)
def test_storage_never_imports_the_web(path):
    bad = [n for n in imported(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []


MODEL_LAYER = ("config", "tokenizer", "lstm", "model", "decoding", "rerank", "bot", "batching",
               "bundle", "percentile")


@pytest.mark.parametrize("name", MODEL_LAYER)
def test_the_model_layer_knows_no_web_and_no_sql(name):
    path = STORAGE.parent / f"{name}.py"
    bad = [n for n in imported(path)
           if n.split(".")[0] in ("flask", "sqlalchemy") or n.startswith(("chatbot.web", "chatbot.storage"))]
    assert bad == []


def test_serving_never_imports_training():
    every = sorted(STORAGE.parent.rglob("*.py"))
    assert len(every) > 30
    bad = {p.name: n for p in every for n in imported(p) if n == "train" or n.startswith("train.")}
    assert bad == {}
