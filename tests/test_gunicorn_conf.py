"""gunicorn.conf.py: the settings that spread load over workers and keep the model out of GC."""

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def settings(monkeypatch, **env) -> dict:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(CONF))


def test_a_worker_holds_twice_as_many_connections_as_threads(monkeypatch):
    conf = settings(monkeypatch, GUNICORN_THREADS="7")
    assert conf["worker_class"] == "gthread"
    assert conf["threads"] == 7 and conf["worker_connections"] == 14  # 7 of them kept alive
    assert settings(monkeypatch, GUNICORN_WORKER_CONNECTIONS="50")["worker_connections"] == 50


def test_post_worker_init_freezes_the_loaded_heap(monkeypatch):
    conf = settings(monkeypatch)
    try:
        conf["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 10_000  # every object alive now, not only new ones
    finally:
        gc.unfreeze()
