"""Where a serving worker's memory goes: resident set size after each stage of what a gunicorn
worker does (import the web app, TensorFlow, load the bundle, trace each decoding mode, release
unused memory as gunicorn.conf.py's post_worker_init does, then reply).

    python -m bench.memory --json                       # models/default (or models/tiny)
    MALLOC_ARENA_MAX=2 python -m bench.memory --json    # try a setting: it reads the environment

Each stage's figure is VmRSS from /proc/self/status (Linux) after the stage, in MB; `peak_mb` is
VmHWM, the most the process held at any moment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ENV_SETTINGS = ("MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_", "TF_ENABLE_ONEDNN_OPTS",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "LEMBRA_WARM_UP_MODES")


def status_mb(field: str) -> float:
    """A VmRSS-like field of /proc/self/status, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise SystemExit(f"bench.memory: no {field} in /proc/self/status (Linux only)")


def stages(model: Path, replies: int, release: bool = True):
    """Run each stage, yielding its name after it ran."""
    import sqlite3  # noqa: F401  (the app imports it before TensorFlow)

    import chatbot.web  # noqa: F401  (Flask, SQLAlchemy, the views)
    yield "web_app_imported"
    import tensorflow  # noqa: F401
    yield "tensorflow_imported"
    from chatbot.bot import Bot
    from chatbot.decoding import DecodeOptions

    bot = Bot.load(model)
    yield "bundle_loaded"
    for mode in ("greedy", "beam", "rerank"):
        bot.reply(["hello"], DecodeOptions(mode=mode, max_len=4))
        yield f"{mode}_traced"
    bot.explain(["hello"], "hi")
    yield "explain_traced"
    if release:
        import gc

        from chatbot.memory import release_unused_memory

        gc.collect()
        release_unused_memory()
        yield "released"  # what gunicorn's post_worker_init does
    for i in range(replies):
        bot.reply([f"tell me about your day {i}"], DecodeOptions(mode="sample"))
    yield f"after_{replies}_replies"


def main(argv: list[str] | None = None) -> int:
    from bench.load import pick_model

    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="bundle directory (default: models/default, then models/tiny)")
    p.add_argument("--replies", type=int, default=20, help="sampled replies after warm-up")
    p.add_argument("--no-release", action="store_true",
                   help="skip release_unused_memory() after warm-up (chatbot/memory.py)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    model = pick_model(args.model)
    rss = {"start": status_mb("VmRSS")}
    t0 = time.monotonic()
    for name in stages(model, args.replies, not args.no_release):
        rss[name] = status_mb("VmRSS")
    report = {"model": str(model), "rss_mb": rss, "peak_mb": status_mb("VmHWM"),
              "seconds": round(time.monotonic() - t0, 1),
              "env": {k: os.environ[k] for k in ENV_SETTINGS if k in os.environ}}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, mb in rss.items():
            print(f"{name:>22}: {mb:7.1f} MB")
        print(f"{'peak':>22}: {report['peak_mb']:7.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
