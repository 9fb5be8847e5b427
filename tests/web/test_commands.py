"""The flask command line: commands that do not reply never load TensorFlow or the model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def flask(args: list[str], tmp_path: Path, model_dir: Path, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "LEMBRA_MODEL_DIR": str(model_dir), "SECRET_KEY": "cli-test-secret-" + "x" * 32,
           "RATELIMIT_STORAGE_URI": "memory://"}
    env.pop("LEMBRA_PRODUCTION", None)
    # -X importtime lists every module imported, so the test sees TensorFlow even if it is quiet.
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "flask", "--app", "app", *args],
                          cwd=ROOT, env=env, input=stdin, capture_output=True, text=True,
                          timeout=120)


def test_create_admin_and_purge_do_not_load_the_model(tmp_path, tiny_bundle):
    created = flask(["create-admin", "alice"], tmp_path, tiny_bundle, "a long enough password\n")
    assert created.returncode == 0, created.stderr[-2000:]
    assert "admin 'alice' created" in created.stdout
    assert "tensorflow" not in created.stderr and "keras" not in created.stderr
    purged = flask(["purge", "--older-than", "30d"], tmp_path, tiny_bundle)
    assert purged.returncode == 0, purged.stderr[-2000:]
    assert "tensorflow" not in purged.stderr


def test_routes_and_the_shell_start_without_tensorflow(tmp_path, tiny_bundle):
    routes = flask(["routes"], tmp_path, tiny_bundle)
    assert routes.returncode == 0, routes.stderr[-2000:]
    assert "/api/conversations" in routes.stdout
    assert "tensorflow" not in routes.stderr and "keras" not in routes.stderr
    shell = flask(["shell"], tmp_path, tiny_bundle, "print('started')\n")
    assert shell.returncode == 0 and "started" in shell.stdout + shell.stderr
    assert "tensorflow" not in shell.stderr


def test_the_shell_gets_the_model_when_it_asks_for_it(tmp_path, tiny_bundle):
    shell = flask(["shell"], tmp_path, tiny_bundle,
                  "from chatbot.web.serving import current_bot\n"
                  "print('reply:', bool(current_bot().reply(['hello']).text))\n")
    assert shell.returncode == 0, shell.stderr[-2000:]
    assert "reply: True" in shell.stdout + shell.stderr
