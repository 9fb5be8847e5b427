"""gunicorn.conf.py: the settings that spread load over workers and keep the model out of GC."""

import gc
import logging
import os
import runpy
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

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
    monkeypatch.setenv("LEMBRA_RECYCLE_DIR", "")  # on_starting sets it; undone after the test
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    server = SimpleNamespace(cfg=SimpleNamespace(workers=2), log=logging.getLogger("test"))
    conf["on_starting"](server)
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == os.environ["TF_NUM_INTEROP_THREADS"] == "2"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")  # what the operator set wins
    conf["on_starting"](server)
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "3"


class FakeWorker:
    def __init__(self, max_requests: int):
        self.nr, self.max_requests = 0, max_requests
        self.log = logging.getLogger("test.worker")

    def serve(self, conf, requests: int) -> bool:
        """Serve `requests` requests as gthread does; True once the worker decides to leave."""
        for _ in range(requests):
            conf["pre_request"](self, None)
            self.nr += 1
            if self.nr >= self.max_requests:
                return True
        return False


def test_only_one_worker_recycles_at_a_time(monkeypatch, tmp_path):
    """Two workers reach max_requests together: the first leaves; the second keeps serving until
    the first one's replacement is ready, then leaves in its turn."""
    monkeypatch.setenv("LEMBRA_RECYCLE_DIR", str(tmp_path))
    conf = settings(monkeypatch)
    first, second = FakeWorker(100), FakeWorker(100)
    assert first.serve(conf, 100)
    assert not second.serve(conf, 100)  # the first is reloading: put off
    assert not second.serve(conf, 200)
    replacement = SimpleNamespace(lembra_forked=time.time() + 1)  # forked after the first left
    try:
        conf["post_worker_init"](worker=replacement)  # the replacement has loaded the model
    finally:
        gc.unfreeze()
    assert second.serve(conf, conf["RECYCLE_DEFER"])
    assert FakeWorker(1).serve(conf, 5) is False  # and now the second one holds the token


def test_a_replacement_that_never_got_ready_frees_the_token(monkeypatch, tmp_path):
    monkeypatch.setenv("LEMBRA_RECYCLE_DIR", str(tmp_path))
    conf = settings(monkeypatch)
    assert FakeWorker(1).serve(conf, 1)
    token = tmp_path / "recycling"
    stale = token.stat().st_mtime - conf["RECYCLE_TOKEN_STALE_S"] - 1
    os.utime(token, (stale, stale))
    assert FakeWorker(1).serve(conf, 1)


def test_the_jitter_spreads_recycling_wider_than_a_reload(monkeypatch):
    conf = settings(monkeypatch)
    assert conf["max_requests_jitter"] >= conf["max_requests"] // 2


def test_an_unwritable_sqlite_database_stops_gunicorn_with_one_line(monkeypatch):
    conf = settings(monkeypatch, DATABASE_URL="sqlite:////proc/lembra/no.db", LEMBRA_RECYCLE_DIR="")
    server = SimpleNamespace(cfg=SimpleNamespace(workers=2), log=logging.getLogger("test"))
    with pytest.raises(RuntimeError) as raised:
        conf["on_starting"](server)
    message = str(raised.value)
    assert message.startswith("lembra: cannot create or write the SQLite database at DATABASE_URL")
    assert "\n" not in message


def test_a_worker_that_took_the_token_leaves_whatever_its_other_threads_do(monkeypatch, tmp_path):
    """gthread: two threads reach the limit together; the one that loses the race for the token
    (its own worker holds it) must not put the worker's limit off, or the token would never be
    handed back and no worker would recycle again."""
    monkeypatch.setenv("LEMBRA_RECYCLE_DIR", str(tmp_path))
    conf = settings(monkeypatch)
    worker = FakeWorker(100)
    worker.nr = 99
    conf["pre_request"](worker, None)  # thread 1 takes the token
    conf["pre_request"](worker, None)  # thread 2, before either counted its request
    worker.nr += 1
    assert worker.nr >= worker.max_requests


def test_the_recycling_folder_is_removed_when_gunicorn_exits(monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'lembra.db'}")
    monkeypatch.setenv("LEMBRA_RECYCLE_DIR", "")
    conf = settings(monkeypatch)
    server = SimpleNamespace(cfg=SimpleNamespace(workers=2), log=logging.getLogger("test"))
    conf["on_starting"](server)
    folder = Path(os.environ["LEMBRA_RECYCLE_DIR"])
    assert folder.is_dir() and folder.parent == tmp_path
    conf["on_exit"](server)
    assert not folder.exists()


def test_requests_in_flight_cannot_carry_a_worker_past_its_limit_without_the_token(
        monkeypatch, tmp_path):
    """gthread runs pre_request for many requests before it counts any of them (worker.nr):
    sixteen in flight at 95 of 100 must not let the worker leave while another is reloading."""
    monkeypatch.setenv("LEMBRA_RECYCLE_DIR", str(tmp_path))
    conf = settings(monkeypatch)
    (tmp_path / "recycling").touch()  # another worker is reloading
    worker = FakeWorker(100)
    worker.nr = 95
    for _ in range(16):
        conf["pre_request"](worker, None)  # all in flight
    worker.nr += 16  # then gthread counts them
    assert worker.nr < worker.max_requests  # put off, not gone without the token
    (tmp_path / "recycling").unlink()  # the other worker is ready
    while worker.nr < worker.max_requests:
        conf["pre_request"](worker, None)
        worker.nr += 1
    assert getattr(worker, "lembra_leaving", False) and (tmp_path / "recycling").exists()


def test_a_worker_ready_after_another_took_the_token_does_not_free_it(monkeypatch, tmp_path):
    """Two workers start together; the first is ready, reaches its limit and leaves while the
    second is still loading. The second getting ready must not hand back the first's token, or
    it could leave too and no worker would be serving (a 25 s gap in bench.recycle)."""
    monkeypatch.setenv("LEMBRA_RECYCLE_DIR", str(tmp_path))
    conf = settings(monkeypatch)
    second = SimpleNamespace(lembra_forked=time.time() - 60)  # forked with the first, at start
    assert FakeWorker(100).serve(conf, 100)  # the first takes the token and leaves
    try:
        conf["post_worker_init"](worker=second)
    finally:
        gc.unfreeze()
    assert (tmp_path / "recycling").exists()
    assert not FakeWorker(1).serve(conf, 5)  # so the second puts its limit off
