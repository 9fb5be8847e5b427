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


MODEL_LAYER = sorted(p for p in STORAGE.parent.glob("*.py") if p.name != "__main__.py")


@pytest.mark.parametrize("path", MODEL_LAYER, ids=lambda p: p.name)
def test_the_model_layer_knows_no_web_and_no_sql(path):
    bad = [n for n in imported(path)
           if n.split(".")[0] in ("flask", "sqlalchemy") or n.startswith(("chatbot.web", "chatbot.storage"))]
    assert bad == []


def test_importing_the_model_layer_loads_no_flask_and_no_sqlalchemy():
    """In a fresh interpreter, as a training script or benchmark starts: every model-layer module
    imported, and neither Flask nor SQLAlchemy among the loaded modules."""
    import os
    import subprocess
    import sys

    names = [f"chatbot.{p.stem}" if p.stem != "__init__" else "chatbot" for p in MODEL_LAYER]
    assert "chatbot.model" in names and "chatbot.bot" in names and len(names) > 12
    code = ("import importlib, sys\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy', 'werkzeug'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=STORAGE.parents[1], env={**os.environ,
                                                      "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_serving_never_imports_training():
    every = sorted(STORAGE.parent.rglob("*.py"))
    assert len(every) > 30
    bad = {p.name: n for p in every for n in imported(p) if n == "train" or n.startswith("train.")}
    assert bad == {}
