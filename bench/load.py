"""Serving under load: real gunicorn, N concurrent chat clients, batching on and then off.

    python -m bench.load --json                       # models/default (or models/tiny)
    python -m bench.load --model /path/to/bundle --clients 32 --messages 640 --json

For each setting it starts gunicorn (gunicorn.conf.py: 2 workers, gthread) on a free loopback
port over a fresh SQLite file, with the rate limit raised out of the way and no worker recycling
(a model reload mid-run would measure start-up, not serving). Each client is one
visitor: its own connection and cookie, the CSRF token from /api/csrf, its own conversation; it
posts messages with the options the page sends by default (sampling, explanation included) until
the shared budget of --messages is spent or --time-limit passes. Then gunicorn is stopped and the
database is read back: every message that got a 201 must be there, user turn and reply alike.
Printed per setting: replies/s, p50/p99 latency (ms), errors, lost messages, and the largest
worker's memory after the run (worker_rss_mb; worker_pss_mb counts shared pages once); and the
speed-up.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from chatbot.bundle import is_bundle
from chatbot.options import page_defaults  # what the chat page sends: the load visitors make
from chatbot.percentile import percentile

ROOT = Path(__file__).resolve().parents[1]


PROMPTS = [
    "hello there", "what do you do for fun on weekends?", "i just got back from a trip",
    "do you like music?", "my cat is sick today", "have you seen any good movies lately",
    "where did you grow up?", "i am so tired", "what is your favorite food?",
    "tell me something about yourself",
]


def pick_model(wanted: str | None) -> Path:
    candidates = [wanted] if wanted else [os.environ.get("LEMBRA_MODEL_DIR", "models/default"),
                                          "models/tiny"]
    for candidate in candidates:
        path = Path(candidate)
        if is_bundle(path):
            return path.resolve()
    raise SystemExit(f"bench.load: no model bundle in {' or '.join(candidates)} "
                     "(train one, or pass --model DIR)")


def worker_memory_mb(master: int) -> dict:
    """The largest resident set (VmRSS) and proportional set (Pss: shared pages, such as
    TensorFlow's library code, split between the processes that map them) among the gunicorn
    master's worker processes, in MB, from /proc (Linux)."""
    def field(path: Path, name: str) -> float:
        for line in path.read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    rss, pss = [], []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != master:
                continue
            rss.append(field(stat.parent / "status", "VmRSS"))
            pss.append(field(stat.parent / "smaps_rollup", "Pss"))
        except (OSError, IndexError, ValueError):  # gone meanwhile, or not ours to read
            continue
    return {"worker_rss_mb": round(max(rss, default=0.0), 1),
            "worker_pss_mb": round(max(pss, default=0.0), 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn in its own process group, on loopback, logging to a file."""

    def __init__(self, model: Path, db: Path, batching: bool, args: argparse.Namespace,
                 overrides: dict[str, str] | None = None):
        self.port = free_port()
        self.log = db.with_suffix(".log")
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "LEMBRA_MODEL_DIR": str(model),
               "SECRET_KEY": "bench-load-" + "k" * 32, "LEMBRA_RATELIMIT_CHAT": "1000000 per minute",
               "LEMBRA_RATELIMIT_CHAT_ADDRESS": "1000000 per minute",  # every client is 127.0.0.1
               "LEMBRA_BATCH_WINDOW_MS": str(args.window_ms if batching else 0),
               "GUNICORN_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(args.workers),
               "GUNICORN_THREADS": str(args.threads), "GUNICORN_LOG_LEVEL": "warning",
               "TF_CPP_MIN_LOG_LEVEL": "2",
               # no worker recycling mid-run (max_requests): a reload is not serving speed
               "GUNICORN_CMD_ARGS": "--max-requests 0", **(overrides or {})}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--access-logfile",
                 "/dev/null", "app:app"], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench.load: gunicorn exited; see {self.log}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.5)
        raise SystemExit(f"bench.load: gunicorn not healthy after {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Client:
    """One visitor: a keep-alive connection, its cookie and CSRF token, one conversation."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""
        self.token = self.call("GET", "/api/csrf")[1]["csrf_token"]
        status, body = self.call("POST", "/api/conversations", {})
        if status != 201:
            raise RuntimeError(f"could not create a conversation: {status} {body}")
        self.conversation = body["id"]

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if method != "GET" and self.cookie:
            headers["X-CSRF-Token"] = self.token
        data = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, (json.loads(raw) if raw else {})


def drive(port: int, clients: int, messages: int, time_limit: float) -> dict:
    """Run the clients; latencies of successful posts, error count and the ids that got a 201."""
    tickets = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    stored: list[tuple[int, int, int]] = []  # (conversation, user id, reply id)
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)
    deadline: list[float] = []

    def run(index: int) -> None:
        try:
            client = Client(port)
        except Exception as exc:
            with lock:
                errors.append(f"setup: {type(exc).__name__}: {exc}")
            ready.wait()
            return
        ready.wait()
        url = f"/api/conversations/{client.conversation}/messages"
        for turn in itertools.count():
            with lock:
                if next(tickets) >= messages or time.monotonic() > deadline[0]:
                    return
            text = f"{PROMPTS[(index + turn) % len(PROMPTS)]} ({index}.{turn})"
            start = time.perf_counter()
            try:
                status, body = client.call("POST", url, {"text": text, "options": page_defaults(),
                                                         "explain": True})
            except Exception as exc:  # a dropped connection is an error, then a new one
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                client.connection.close()
                continue
            elapsed = (time.perf_counter() - start) * 1000.0
            with lock:
                if status == 201:
                    latencies.append(elapsed)
                    stored.append((client.conversation, body["user"]["id"], body["reply"]["id"]))
                else:
                    errors.append(f"HTTP {status}: {body.get('error')}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline.append(time.monotonic() + time_limit)
    ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - start, "latencies": latencies, "stored": stored,
            "errors": errors}


def lost_messages(db: Path, stored: list[tuple[int, int, int]]) -> int:
    """Messages answered with a 201 that the database does not hold (user turn or reply)."""
    with sqlite3.connect(db) as connection:
        rows = set(connection.execute("SELECT conversation_id, id, role FROM messages"))
    return sum(((conversation, user, "user") not in rows) + ((conversation, reply, "bot") not in rows)
               for conversation, user, reply in stored)


def measure(model: Path, batching: bool, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="lembra-load-") as tmp:
        db = Path(tmp) / "lembra.db"
        server = Server(model, db, batching, args)
        try:
            server.wait_ready(args.start_timeout)
            run = drive(server.port, args.clients, args.messages, args.time_limit)
            memory = worker_memory_mb(server.process.pid)
        finally:
            server.stop()
        latencies = run["latencies"]
        return {
            "batching": batching,
            "replies": len(latencies),
            "seconds": round(run["seconds"], 2),
            "replies_per_s": round(len(latencies) / run["seconds"], 2),
            "latency_ms_p50": round(percentile(latencies, 50) or 0.0, 1),
            "latency_ms_p99": round(percentile(latencies, 99) or 0.0, 1),
            "errors": len(run["errors"]),
            "error_samples": sorted(set(run["errors"]))[:5],
            "lost_messages": lost_messages(db, run["stored"]),
            **memory,
        }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="bundle directory (default: LEMBRA_MODEL_DIR, models/default, "
                                   "then models/tiny)")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--messages", type=int, default=640, help="messages in all, per setting")
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds per setting at most")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=16, help="gunicorn threads per worker")
    p.add_argument("--window-ms", type=float, default=5.0, help="batching window when on")
    p.add_argument("--start-timeout", type=float, default=300.0)
    p.add_argument("--only", choices=("on", "off"), help="measure one setting only")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model = pick_model(args.model)
    settings = [s for s in (True, False) if args.only is None or (args.only == "on") == s]
    results = {("batching_on" if s else "batching_off"): measure(model, s, args) for s in settings}
    report = {"model": str(model), "clients": args.clients, "messages": args.messages,
              "workers": args.workers, "threads": args.threads, "cpus": os.cpu_count(), **results}
    report["worker_rss_mb"] = max(r["worker_rss_mb"] for r in results.values())
    if len(results) == 2 and results["batching_off"]["replies_per_s"]:
        report["speedup"] = round(results["batching_on"]["replies_per_s"]
                                  / results["batching_off"]["replies_per_s"], 2)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, r in results.items():
            print(f"{name}: {r['replies_per_s']} replies/s, p50 {r['latency_ms_p50']} ms, "
                  f"p99 {r['latency_ms_p99']} ms, {r['errors']} errors, {r['lost_messages']} lost, "
                  f"largest worker {r['worker_rss_mb']} MB resident")
        if "speedup" in report:
            print(f"speed-up with batching: {report['speedup']}x")
    failed = any(r["errors"] or r["lost_messages"] for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
