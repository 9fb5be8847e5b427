"""gunicorn.conf.py: the settings that spread load over workers and keep the model out of GC."""

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def settings(monkeypatch, **env) -> dict:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(CONF))


def test_a_worker_holds_no_more_connections_than_it_has_threads(monkeypatch):
    conf = settings(monkeypatch, GUNICORN_THREADS="7")
    assert conf["worker_class"] == "gthread"
    assert conf["threads"] == conf["worker_connections"] == 7
    assert settings(monkeypatch, GUNICORN_WORKER_CONNECTIONS="50")["worker_connections"] == 50


def test_post_worker_init_freezes_the_loaded_heap(monkeypatch):
    conf = settings(monkeypatch)
    try:
        conf["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 10_000  # every object alive now, not only new ones
    finally:
        gc.unfreeze()
