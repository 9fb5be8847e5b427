"""gunicorn.conf.py: the settings that spread load over workers and keep the model out of GC."""

import gc
import logging
import os
import runpy
from pathlib import Path
from types import SimpleNamespace

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def settings(monkeypatch, **env) -> dict:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(CONF))


def test_a_busy_worker_stops_accepting_connections(monkeypatch):
    conf = settings(monkeypatch, GUNICORN_THREADS="7")
    assert conf["worker_class"] == "gthread"
    assert conf["threads"] == 7 and conf["worker_connections"] == 8  # one kept alive when idle
    assert settings(monkeypatch, GUNICORN_WORKER_CONNECTIONS="50")["worker_connections"] == 50


def test_post_worker_init_freezes_the_loaded_heap(monkeypatch):
    conf = settings(monkeypatch)
    try:
        conf["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 10_000  # every object alive now, not only new ones
    finally:
        gc.unfreeze()


def test_workers_share_the_cores_between_their_tensorflow_pools(monkeypatch, tmp_path):
    conf = settings(monkeypatch)
    assert [conf["tensorflow_threads"](w, 8) for w in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'lembra.db'}")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    server = SimpleNamespace(cfg=SimpleNamespace(workers=2), log=logging.getLogger("test"))
    conf["on_starting"](server)
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == os.environ["TF_NUM_INTEROP_THREADS"] == "2"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")  # what the operator set wins
    conf["on_starting"](server)
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "3"
