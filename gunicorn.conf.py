"""gunicorn settings for Lembra: `gunicorn -c gunicorn.conf.py app:app` (what `make run` does).

Each worker imports `app`, which calls `create_app()` and loads its own copy of the model, so no
TensorFlow state ever crosses a fork. That is why `preload_app` stays False: TensorFlow's thread
pools do not survive `fork()`, and a worker forked from a master that had loaded it can hang.
Every setting can be overridden from the environment (e.g. WEB_CONCURRENCY) or the command line.
`kill -HUP <master pid>` starts fresh workers, which load the model at LEMBRA_MODEL_DIR again:
that is how a new model goes live without dropping connections.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the repo, before app:app is
from chatbot.config import REPLY_TIMEOUT_S  # noqa: E402  (no TensorFlow: config is plain Python)

# One model per worker: size workers by memory (a worker with the shipped model is about 760 MB
# resident, TensorFlow included: docs/benchmarks.md), not by cores. Threads (gthread) let one
# worker hold many requests at once: a thread waiting for its reply only waits on the worker's
# batching queue (chatbot/batching.py), which decodes all waiting requests in one call, so the
# thread count is the most requests one batch can gather. TensorFlow releases the GIL while it
# computes.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# A gthread worker accepts connections until it holds `worker_connections` (1000 by default), and
# keep-alive clients hold theirs, so one worker can end up with nearly every visitor while the
# others idle, which halves batching and doubles tail latency. threads + 1 forces an even spread:
# a worker with every thread busy stops accepting, and it keeps worker_connections - threads = 1
# idle connection alive, so it closes most connections after their response and the client's next
# request goes to whichever worker has room. A reconnect on a LAN or from a proxy costs far less
# than a reply. The bench.load runs behind this are in docs/benchmarks.md.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(threads + 1)))

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# A reply takes well under a second on CPU; a worker silent for this long is stuck. Loading the
# model happens before the worker starts answering, so it does not count against `timeout`.
timeout = REPLY_TIMEOUT_S
graceful_timeout = 30
keepalive = 5
# A gthread worker gives a connection one of its threads until the request has arrived, and
# gunicorn has no time limit for that, so clients that trickle their headers can hold every
# thread: in production nginx sits in front (deploy/nginx.conf, `make serve-production`) and
# hands gunicorn only complete requests. These caps refuse oversized request heads outright.
limit_request_line = 4094
limit_request_fields = 64
limit_request_field_size = 8190

# Recycle workers now and then so slow leaks cannot grow forever. A worker that leaves is
# unavailable until its replacement has loaded TensorFlow and the model (10-20 s), so no two may
# be away at once: a worker at its limit leaves only when it can take the one recycling token,
# which its replacement hands back once it is ready (`pre_request`, `post_worker_init`);
# otherwise it serves RECYCLE_DEFER more requests and asks again. The wide jitter keeps workers
# under even load from reaching their limits together in the first place.
max_requests = 2000
max_requests_jitter = 1000
RECYCLE_DEFER = 25
RECYCLE_TOKEN_STALE_S = 180  # a replacement that never became ready gives the token back

preload_app = False  # never True: see the module docstring

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


# glibc malloc arenas per worker (0: glibc's default, 8 per core); see chatbot/memory.py.
MALLOC_ARENAS = int(os.environ.get("LEMBRA_MALLOC_ARENAS", "2"))
RELEASE_MEMORY = os.environ.get("LEMBRA_RELEASE_MEMORY", "1") != "0"  # 0: keep every page


def post_fork(server, worker):
    """Before the worker imports anything: cap its malloc arenas (chatbot/memory.py), and note
    when it was forked (which recycling token is its predecessor's: `post_worker_init`)."""
    import time

    from chatbot.memory import limit_malloc_arenas

    worker.lembra_forked = time.time()
    if MALLOC_ARENAS > 0:
        limit_malloc_arenas(MALLOC_ARENAS)


def post_worker_init(worker):
    """Exempt everything loaded so far (TensorFlow, Keras, the model: millions of objects) from
    garbage collection. Otherwise each full collection walks them all while holding the GIL,
    which under load took most of a worker's main thread (docs/benchmarks.md). New objects, the
    per-request ones, are collected as before. Then, the model loaded and warmed up, drop the
    TensorFlow library pages that loading touched and replying does not (chatbot/memory.py)."""
    import gc

    from chatbot.memory import release_unused_memory

    gc.collect()
    gc.freeze()
    if RELEASE_MEMORY:
        release_unused_memory()
    # This worker is ready: another may recycle now. Only a token taken before this worker was
    # forked is its predecessor's; one taken since is another worker's, still reloading (two
    # workers that start together both finish loading, and the first may already have left).
    token = _recycle_token()
    try:
        if token.stat().st_mtime <= getattr(worker, "lembra_forked", float("inf")):
            token.unlink(missing_ok=True)
    except FileNotFoundError:
        pass


def _recycle_token():
    from pathlib import Path

    return Path(os.environ.get("LEMBRA_RECYCLE_DIR", "/nonexistent")) / "recycling"


def pre_request(worker, req):
    """Before the request that would reach `max_requests`: leave only with the recycling token
    (no other worker is reloading), else put the limit off by RECYCLE_DEFER requests. gthread
    calls this from several threads at once: the lock and `lembra_leaving` make sure a worker
    that took the token really leaves (another thread must not put its limit off again)."""
    import threading
    import time

    if "LEMBRA_RECYCLE_DIR" not in os.environ:
        return
    lock = worker.__dict__.setdefault("lembra_lock", threading.Lock())
    with lock:
        # gthread counts a request (worker.nr) only after this hook, in the request's own thread,
        # so with several in flight nr lags behind: count them here, each request once.
        seen = max(getattr(worker, "lembra_seen", 0), worker.nr) + 1
        worker.lembra_seen = seen
        if getattr(worker, "lembra_leaving", False):
            worker.max_requests = min(worker.max_requests, seen)
            return
        if seen < worker.max_requests:
            return
        token = _recycle_token()
        try:
            if time.time() - token.stat().st_mtime > RECYCLE_TOKEN_STALE_S:
                token.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
        try:
            token.touch(exist_ok=False)  # O_EXCL: one worker wins
            worker.lembra_leaving = True
        except FileExistsError:
            worker.max_requests = seen + RECYCLE_DEFER
            worker.log.debug("another worker is reloading; recycling after %d more requests",
                             RECYCLE_DEFER)


def tensorflow_threads(workers: int, cores: int) -> int:
    """Each worker's share of the cores. TensorFlow sizes its intra-op and inter-op pools to every
    core in each process, so with several workers the pool threads outnumber the cores and
    preempt each other in the middle of the decoder's small matrix multiplies (the measurements
    are in docs/benchmarks.md)."""
    return max(1, cores // max(1, workers))


def on_starting(server):
    """Size TensorFlow's thread pools for the workers (they inherit the environment), then check
    the settings and migrate the database once, in the master, before any worker starts.

    Bad settings (e.g. production with the default SECRET_KEY) stop gunicorn with one line
    ("Error: lembra: ...") and exit status 1: gunicorn prints a RuntimeError raised here that way,
    instead of every worker failing with a traceback. So does a SQLite file that cannot be created
    or written (a permission, not a passing state, and every worker would fail on it). A database
    server that cannot be reached is logged in one line and serving goes on: requests get a JSON
    503 and /healthz says why until it is back.
    """
    import tempfile

    from chatbot.config import AppConfig, ConfigError
    from chatbot.storage.db import upgrade

    os.environ["LEMBRA_RECYCLE_DIR"] = tempfile.mkdtemp(prefix="lembra-gunicorn-")  # workers inherit
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = str(tensorflow_threads(server.cfg.workers, cores or 1))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", share)  # set either yourself to override
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", share)

    try:
        settings = AppConfig.from_env()
    except ConfigError as exc:
        raise RuntimeError(f"lembra: {exc}") from None
    try:
        upgrade(settings.database_url)
    except Exception as exc:  # unreachable server, bad URL, read-only file: say which, briefly
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if settings.database_url.startswith("sqlite"):
            raise RuntimeError(f"lembra: cannot create or write the SQLite database at "
                               f"DATABASE_URL: {reason}") from None
        server.log.error("lembra: cannot migrate the database at DATABASE_URL: %s", reason)
        return
    server.log.info("database schema is up to date")


def on_exit(server):
    """The recycling token's folder goes with the master (it used to stay in the temp folder)."""
    import shutil

    folder = os.environ.get("LEMBRA_RECYCLE_DIR", "")
    if os.path.basename(folder).startswith("lembra-gunicorn-"):
        shutil.rmtree(folder, ignore_errors=True)
