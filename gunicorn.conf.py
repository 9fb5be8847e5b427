"""gunicorn settings for Lembra: `gunicorn -c gunicorn.conf.py app:app` (what `make run` does).

Each worker imports `app`, which calls `create_app()` and loads its own copy of the model, so no
TensorFlow state ever crosses a fork. That is why `preload_app` stays False: TensorFlow's thread
pools do not survive `fork()`, and a worker forked from a master that had loaded it can hang.
Every setting can be overridden from the environment (e.g. WEB_CONCURRENCY) or the command line.
`kill -HUP <master pid>` starts fresh workers, which load the model at LEMBRA_MODEL_DIR again:
that is how a new model goes live without dropping connections.
"""

import os

# One model per worker: size workers by memory (a small model is ~100-300 MB resident with
# TensorFlow), not by cores. Threads let one worker serve the page, the API and a slow reply at
# once; TensorFlow releases the GIL while it computes.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# A reply takes well under a second on CPU; a worker silent for this long is stuck. Loading the
# model happens before the worker starts answering, so it does not count against `timeout`.
timeout = 60
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then so slow leaks cannot grow forever; the jitter keeps them from all
# restarting at the same moment (and so from all reloading the model at once).
max_requests = 1000
max_requests_jitter = 100

preload_app = False  # never True: see the module docstring

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def on_starting(server):
    """Migrate the database once, in the master, before any worker opens it."""
    from chatbot.config import AppConfig
    from chatbot.db import upgrade

    upgrade(AppConfig.from_env().database_url)
    server.log.info("database schema is up to date")
