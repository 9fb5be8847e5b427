"""Worker recycling under load: does the service ever pause while a worker reloads?

    python -m bench.recycle --json                   # models/default, 3 runs of 5 minutes
    python -m bench.recycle --minutes 1 --runs 1 --max-requests 300 --json

Each run starts gunicorn with the shipped settings (gunicorn.conf.py: 2 workers, recycling after
max_requests ± jitter, one worker away at a time), over a fresh SQLite file with the rate limits
out of the way, and has --clients visitors post messages with the page's default options back to
back for --minutes (a new conversation when one is full). A reloading worker is away while it
loads TensorFlow, the model and its compiled shapes, so the other must keep answering. Printed
per run: the longest gap between two successful replies (any client's; `longest_gap_s`, the
target is under 2 s), the slowest reply, how many workers were booted after the first two
(`recycled`), errors and messages lost. Exit status 1 when any run has errors or lost messages.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.load import PROMPTS, Client, Server, lost_messages, pick_model
from chatbot.options import page_defaults


def drive(port: int, clients: int, seconds: float) -> dict:
    """Clients post back to back until `seconds` pass: completion times and latencies of the
    201s, errors, and the stored (conversation, user, reply) ids."""
    lock = threading.Lock()
    done: list[float] = []
    latencies: list[float] = []
    stored: list[tuple[int, int, int]] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    def run(index: int) -> None:
        client = Client(port)
        url = f"/api/conversations/{client.conversation}/messages"
        turn = 0
        while time.monotonic() < deadline:
            text = f"{PROMPTS[(index + turn) % len(PROMPTS)]} ({index}.{turn})"
            turn += 1
            start = time.monotonic()
            try:
                status, body = client.call("POST", url, {"text": text, "options": page_defaults()})
            except Exception as exc:  # a connection closed by a leaving worker: reconnect
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                client.connection.close()
                continue
            end = time.monotonic()
            if status == 422 and "full" in str(body.get("error")):  # max_turns: a new one
                status, body = client.call("POST", "/api/conversations", {})
                client.conversation = body.get("id", client.conversation)
                url = f"/api/conversations/{client.conversation}/messages"
                continue
            with lock:
                if status == 201:
                    done.append(end)
                    latencies.append(end - start)
                    stored.append((client.conversation, body["user"]["id"], body["reply"]["id"]))
                else:
                    errors.append(f"HTTP {status}: {body.get('error')}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"start": start, "done": sorted(done), "latencies": latencies, "stored": stored,
            "errors": errors}


def one_run(model: Path, args: argparse.Namespace) -> dict:
    overrides = {"GUNICORN_LOG_LEVEL": "info", "GUNICORN_CMD_ARGS": ""}
    if args.max_requests:
        overrides["GUNICORN_CMD_ARGS"] = (f"--max-requests {args.max_requests} "
                                          f"--max-requests-jitter {args.max_requests // 2}")
    with tempfile.TemporaryDirectory(prefix="lembra-recycle-") as tmp:
        db = Path(tmp) / "lembra.db"
        server = Server(model, db, True, argparse.Namespace(
            window_ms=5.0, workers=2, threads=16), overrides)
        try:
            server.wait_ready(args.start_timeout)
            run = drive(server.port, args.clients, args.minutes * 60.0)
        finally:
            server.stop()
        log = server.log.read_text(errors="replace")
        if args.keep_log:
            Path(args.keep_log).write_text(log)
        times = [run["start"], *run["done"]]
        return {
            "replies": len(run["done"]),
            "longest_gap_s": round(max(b - a for a, b in zip(times, times[1:])), 2),
            "slowest_reply_s": round(max(run["latencies"], default=0.0), 2),
            "recycled": max(0, len(re.findall(r"Booting worker with pid", log)) - 2),
            "errors": len(run["errors"]),
            "error_samples": sorted(set(run["errors"]))[:5],
            "lost_messages": lost_messages(db, run["stored"]),
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.recycle", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="bundle directory (default: LEMBRA_MODEL_DIR, models/default, "
                                   "then models/tiny)")
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--minutes", type=float, default=5.0, help="per run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--max-requests", type=int, default=0,
                   help="recycle sooner than the shipped setting (jitter: half of it); 0 = shipped")
    p.add_argument("--start-timeout", type=float, default=300.0)
    p.add_argument("--keep-log", help="write the (last) run's gunicorn log to this file")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    model = pick_model(args.model)
    runs = [one_run(model, args) for _ in range(args.runs)]
    report = {"model": str(model), "clients": args.clients, "minutes": args.minutes,
              "runs": runs, "longest_gap_s": max(r["longest_gap_s"] for r in runs)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for r in runs:
            print(f"{r['replies']} replies, longest gap {r['longest_gap_s']} s, slowest reply "
                  f"{r['slowest_reply_s']} s, {r['recycled']} recycled, {r['errors']} errors, "
                  f"{r['lost_messages']} lost")
    return 1 if any(r["errors"] or r["lost_messages"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
