"""Hostile input against a real server: thousands of generated requests over every route.

    python -m bench.hostile --json                  # 5,000 requests, the tiny test model
    python -m bench.hostile --requests 20000 --clients 16 --model models/default --json

It starts gunicorn (gunicorn.conf.py, 2 workers, LEMBRA_PRODUCTION=1) on a free loopback port
over a fresh SQLite file, with the rate limits raised out of the way (a 429 would end most
requests before they reach the code under test). The routes come from the app's own URL map, so
a new route is attacked without editing this file. Each request mixes, at random: the method
(the rule's own, or another one), the path's ids (own, another visitor's, 0, 2^63, 10^30, words),
the query string (every parameter the app's source reads, found by `query_parameters`, with
values aimed at its kind: numbers past 2^63, impossible dates; or NUL, long strings), the body (JSON with
hostile options, nulls and nesting 5,000 deep, forms, binary, 100 KB), the headers (content
types, languages, CSRF tokens right, wrong and missing, forwarded-for junk) and the cookies
(a visitor's, a tampered one, an admin session, none). Clients open one connection per request.

Printed: requests, status_5xx, slow_over_10s (responses that took longer), resets (connections
reset or closed without an answer), integrity_ok (SQLite's integrity and foreign-key checks
pass, and every message acknowledged with a 201 is still stored unless its conversation was
deleted), plus the status counts and the first few 5xx for diagnosis. Exit status 1 unless every
count is 0 and integrity_ok.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import sqlite3
import sys
import tempfile
import threading
import time
from argparse import Namespace
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode

from bench.load import Server
from chatbot.bundle import is_bundle

SLOW_S = 10.0
DEEP_SHARE = 0.35  # requests sent as a real visitor, so their content reaches the views
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND"]
ODD_IDS = ["0", str(2**31), str(2**63 - 1), str(2**63), str(10**30), "abc", "-1", "1.5", "%00",
           "..%2f..%2fetc%2fpasswd", "1e9", "٣"]
STRINGS = ["", " ", "hi", "\u200b", "\x00", "a\x00b", "\ud7ff", "😀" * 50, "<script>x</script>",
           "' OR 1=1 --", "../../etc/passwd", "%s%n", "x" * 5000, "\u202eevil", "null", "NaN",
           "9999-12-31", "0000-00-00", "-1", "1e999", "true"]
QUERY_VALUES = STRINGS + ["9999-12-31", "0001-01-01", "2026-02-30", str(10**30), str(2**63),
                          "-5", "0", "7", "30", "90", "//evil.example/", "https://evil.example",
                          "/admin/dashboard", "1", "md", "json", "jsonl", "csv"]
# Values aimed at a parameter of a known kind: past SQLite's 64 bits, negative, fractional, NaN;
# dates out of range, impossible, inverted.
KIND_VALUES = {
    "number": [str(2**63), str(2**63 - 1), str(-2**63 - 1), str(10**30), "-1", "0", "1.5", "1e9",
            "NaN", "٣", "0x10", " 7"],
    "date": ["9999-12-31", "0001-01-01", "2026-02-30", "10000-01-01", "2026-13-01", "-1",
             "2026-1-1", "today"],
}
NUMBER_READERS = {"int_arg", "_parse_number"}  # chatbot.web.schema, chatbot.storage.search
DATE_READERS = {"_parse_date"}
APP_SOURCES = ("chatbot/web", "chatbot/storage/search.py")


def query_parameters(root: Path = Path(__file__).resolve().parents[1]) -> dict[str, str]:
    """Every query parameter the app reads, and its kind ("number", "date" or "text"), found in
    its source: `args.get("x")`, `request.args.get("x", type=int)`, `int_arg("x", ...)`,
    `_parse_date(args.get("x"), ...)`, and `args.get(k) for k in ("a", "b")`. So a parameter
    a view starts reading is attacked without editing this file."""
    import ast

    found: dict[str, str] = {}
    files = [p for source in APP_SOURCES for p in sorted((root / source).rglob("*.py"))
             if (root / source).is_dir()] + [root / s for s in APP_SOURCES
                                             if (root / s).is_file()]
    for path in files:
        tree = ast.parse(path.read_text())
        loops: dict[str, list[str]] = {}  # comprehension variable -> the literals it runs over
        for node in ast.walk(tree):
            if isinstance(node, ast.comprehension) and isinstance(node.target, ast.Name) \
                    and isinstance(node.iter, (ast.Tuple, ast.List)):
                loops[node.target.id] = [e.value for e in node.iter.elts
                                         if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func, first = node.func, node.args[0]
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            keys = [first.value] if isinstance(first, ast.Constant) and isinstance(first.value, str) \
                else loops.get(first.id, []) if isinstance(first, ast.Name) else []
            reads_args = isinstance(func, ast.Attribute) and name in ("get", "getlist") \
                and ast.unparse(func.value).endswith("args")
            if name in NUMBER_READERS or name in DATE_READERS:
                kind = "number" if name in NUMBER_READERS else "date"
                inner = first if isinstance(first, ast.Call) else None
                if inner is not None and inner.args:  # _parse_date(args.get("from"), ...)
                    arg = inner.args[0]
                    keys = [arg.value] if isinstance(arg, ast.Constant) else loops.get(
                        getattr(arg, "id", ""), [])
                for key in keys:
                    found[key] = kind
            elif reads_args:
                typed = any(k.arg == "type" and ast.unparse(k.value) in ("int", "float")
                            for k in node.keywords)
                for key in keys:
                    found.setdefault(key, "number" if typed else "text")
    return found
OPTION_KEYS = ["mode", "beam_width", "temperature", "top_k", "top_p", "max_len", "min_len",
               "seed", "no_repeat_ngram", "length_penalty", "repetition_penalty", "candidates",
               "nonsense"]
NUMBERS = [None, True, 0, -1, 1, 3, 40, 2**31, 2**63, 10**30, 0.5, -0.0, 1e308, "4", "x", [],
           {}, [1], {"a": None}]
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain",
                 "multipart/form-data; boundary=xyz", "application/json; charset=latin-1", ""]
LANGUAGES = ["pt-BR", "en", "*", "xx;q=abc", "pt;q=2," * 50, ""]


def hostile_json(rng: random.Random) -> object:
    """A request body as JSON: often nearly right (so it reaches deep), sometimes nonsense."""
    kind = rng.random()
    if kind < 0.45:
        body: dict = {"text": rng.choice(STRINGS + ["hello there", "how are you?"] * 4)}
        if rng.random() < 0.6:
            body["options"] = (
                {rng.choice(OPTION_KEYS): rng.choice(NUMBERS + ["greedy", "beam", "sample",
                                                               "rerank", "nope"])
                 for _ in range(rng.randint(1, 4))}
                if rng.random() < 0.8 else rng.choice(NUMBERS))
        if rng.random() < 0.3:
            body["explain"] = rng.choice(NUMBERS)
        return body
    if kind < 0.65:
        return {"rating": rng.choice([1, -1, 0, 2, None, "1", True, 1.0]),
                "comment": rng.choice(STRINGS + NUMBERS)}
    if kind < 0.8:
        return {"title": rng.choice(STRINGS + NUMBERS)}
    return rng.choice(NUMBERS + STRINGS)


def nearly_valid(rng: random.Random) -> dict:
    """A body the views accept, with options at the edges of their ranges (the model runs)."""
    options = {"mode": rng.choice(["greedy", "beam", "sample", "rerank"]),
               "max_len": rng.choice([1, 2, 8, 40]), "beam_width": rng.choice([1, 2, 8]),
               "temperature": rng.choice([0.05, 1.0, 2.0]), "seed": rng.choice([0, 2**31 - 1])}
    body = {"text": rng.choice(["hi", "what do you do?", "😀 " * 40, "x" * 1000, "a\u202eb"]),
            "options": dict(rng.sample(sorted(options.items()), rng.randint(0, 4))),
            "explain": rng.random() < 0.3, "rating": rng.choice([1, -1]), "title": "t"}
    return body


def hostile_body(rng: random.Random, form_token: str) -> tuple[bytes, str]:
    """(body, content type)."""
    kind = rng.random()
    if kind < 0.6:
        return json.dumps(hostile_json(rng)).encode(), rng.choice(
            ["application/json"] * 4 + CONTENT_TYPES)
    if kind < 0.75:
        form = {rng.choice(["name", "password", "confirm", "tags", "flagged", "reviewed", "text",
                            "next", "note"]): rng.choice(STRINGS) for _ in range(rng.randint(1, 4))}
        if rng.random() < 0.7:
            form["csrf_token"] = form_token if rng.random() < 0.7 else "forged"
        return urlencode(form).encode(), "application/x-www-form-urlencoded"
    special = [b"[" * 5000, b'{"text": ' * 3000, b"\xff\xfe\x00garbage", b"{", b"",
               b'{"text": "' + b"x" * 100_000 + b'"}', bytes(rng.randrange(256) for _ in range(64)),
               b'{"text": "hi", "options": {"beam_width": 1e999}}', b"NaN", b"[1e999]"]
    return rng.choice(special), rng.choice(CONTENT_TYPES)


class Identity:
    """A visitor (cookie and API token) or the admin (session cookie and form token)."""

    def __init__(self, cookie: str, token: str):
        self.cookie, self.token = cookie, token


def call(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None,
         timeout: float = 60) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def cookies_of(headers: dict) -> str:
    found = re.findall(r"(lembra_visitor|session)=([^;]*)", headers.get("Set-Cookie", ""))
    return "; ".join(f"{k}={v}" for k, v in found)


def new_visitor(port: int) -> tuple[Identity, list[int]]:
    status, headers, body = call(port, "GET", "/api/csrf")
    visitor = Identity(cookies_of(headers), json.loads(body)["csrf_token"])
    status, _, body = call(port, "POST", "/api/conversations", b"{}",
                           {"Cookie": visitor.cookie, "X-CSRF-Token": visitor.token,
                            "Content-Type": "application/json"})
    return visitor, [json.loads(body)["id"]] if status == 201 else []


def admin_login(port: int, name: str, password: str) -> Identity:
    _, headers, page = call(port, "GET", "/admin/login")
    cookie = cookies_of(headers)
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    form = urlencode({"name": name, "password": password, "csrf_token": token}).encode()
    status, headers, _ = call(port, "POST", "/admin/login", form,
                              {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    cookie = cookies_of(headers) or cookie
    _, _, page = call(port, "GET", "/admin/models", headers={"Cookie": cookie})
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    return Identity(cookie, found.group(1).decode() if found else "")


class Attack:
    """The shared state of one run: identities, known ids, what was acknowledged, the counts."""

    def __init__(self, port: int, rules: list[tuple[str, list[str], dict]], seed: int,
                 admin: tuple[str, str]):
        self.port, self.rules, self.seed, self.admin_account = port, rules, seed, admin
        self.query_kinds = query_parameters()
        self.query_keys = sorted(self.query_kinds)
        self.visitors = [new_visitor(port) for _ in range(4)]
        self.admin = admin_login(port, *admin)
        self.message_ids: list[int] = []
        self.acknowledged: dict[int, int] = {}  # message id -> conversation id
        self.deleted: set[int] = set()
        self.statuses: Counter = Counter()
        self.server_errors: list[str] = []
        self.slow = self.resets = 0
        self.slow_requests: list[str] = []
        self.lock = threading.Lock()

    def _path(self, rng: random.Random, rule: str, own: list[int]) -> str:
        def value(match: re.Match) -> str:
            kind, name = match.group(1) or "", match.group(2)
            if kind.startswith("int"):
                pool = (own + self.message_ids[-50:]) if "message" in name or "correction" in name \
                    else own
                choice = rng.random()
                if choice < 0.6 and pool:
                    return str(rng.choice(pool))
                if choice < 0.75:
                    return str(rng.randint(1, 500))
                return rng.choice(ODD_IDS)
            if kind.startswith("any"):
                return rng.choice(re.findall(r"\w+", kind[3:]) + ["other", "%2e%2e"])
            return rng.choice(["tiny", "default", "..", "%2e%2e%2f", "x" * 300, "%00", "a b"])
        path = re.sub(r"<(?:([^:>]+):)?([^>]+)>", lambda m: quote(value(m), safe="%/."), rule)
        if rng.random() < 0.5:
            keys = rng.sample(self.query_keys, min(len(self.query_keys), rng.randint(1, 4)))
            query = [(key, rng.choice(KIND_VALUES.get(self.query_kinds[key], QUERY_VALUES))
                      if rng.random() < 0.7 else rng.choice(QUERY_VALUES)) for key in keys]
            path += "?" + urlencode(query, errors="surrogatepass")
        return path

    def one(self, index: int) -> None:
        rng = random.Random(self.seed * 1_000_003 + index)
        visitor, own = rng.choice(self.visitors)
        if rng.random() < DEEP_SHARE:  # a real visitor's request with hostile content
            self._deep(rng, visitor, own)
            return
        rule, methods, _ = rng.choice(self.rules)
        admin = rule.startswith("/admin") and rng.random() < 0.85
        identity = self.admin if admin else visitor
        method = rng.choice(methods) if rng.random() < 0.85 else rng.choice(METHODS)
        path = self._path(rng, rule, own)
        body, content_type = hostile_body(rng, self.admin.token) if method not in (
            "GET", "HEAD") or rng.random() < 0.1 else (b"", "")
        headers = {"Accept-Language": rng.choice(LANGUAGES)}
        if content_type:
            headers["Content-Type"] = content_type
        status = self._send(method, path, body, headers | self._credentials(rng, identity), own)
        if admin and status in (302, 401) and self.admin is identity:
            with self.lock:  # signed out (a hostile logout ends every session): sign in again
                if self.admin is identity:
                    self.admin = admin_login(self.port, *self.admin_account)

    def _deep(self, rng: random.Random, visitor: Identity, own: list[int]) -> None:
        """Past the cookie, the token and the ownership check, into the views and the model."""
        if not own or rng.random() < 0.05:
            status, _, body = call(self.port, "POST", "/api/conversations", b"{}",
                                   {"Cookie": visitor.cookie, "X-CSRF-Token": visitor.token,
                                    "Content-Type": "application/json"})
            if status == 201:
                with self.lock:
                    own.append(json.loads(body)["id"])
            return
        conversation = rng.choice(own)
        message = rng.choice(self.message_ids[-30:] or [1])
        method, path = rng.choice([
            ("POST", f"/api/conversations/{conversation}/messages"),
            ("POST", f"/api/conversations/{conversation}/messages"),
            ("POST", f"/api/conversations/{conversation}/reply"),
            ("POST", f"/api/messages/{message}/feedback"),
            ("POST", f"/api/messages/{message}/correction"),
            ("GET", f"/api/messages/{message}/explanation"),
            ("PATCH", f"/api/messages/{message}"),
            ("PATCH", f"/api/conversations/{conversation}"),
            ("GET", f"/api/conversations/{conversation}/export?format="
             + rng.choice(["json", "md", "x", "%00"])),
            ("GET", f"/c/{conversation}"),
        ])
        content = nearly_valid(rng) if rng.random() < 0.6 else hostile_json(rng)
        body = json.dumps(content).encode() if method != "GET" else b""
        headers = {"Cookie": visitor.cookie, "X-CSRF-Token": visitor.token,
                   "Content-Type": "application/json", "Accept-Language": rng.choice(LANGUAGES)}
        self._send(method, path, body, headers, own)

    def _credentials(self, rng: random.Random, identity: Identity) -> dict:
        headers = {}
        cookie = rng.random()
        if cookie < 0.75:
            headers["Cookie"] = identity.cookie
        elif cookie < 0.85:
            headers["Cookie"] = identity.cookie[:-3] + "xyz"
        elif cookie < 0.9:
            headers["Cookie"] = "lembra_visitor=" + "A" * 4000 + "; session=.eJx"
        token = rng.random()
        if token < 0.75:
            headers["X-CSRF-Token"] = identity.token
        elif token < 0.85:
            headers["X-CSRF-Token"] = "0" * 64
        if rng.random() < 0.1:
            headers["X-Forwarded-For"] = rng.choice(["1.2.3.4", "junk", "::1, 999.1.1.1", "%00"])
        if rng.random() < 0.05:
            headers["Accept"] = rng.choice(["application/json", "text/html", "*/*;q=x", ""])
        return headers

    def _send(self, method: str, path: str, body: bytes, headers: dict, own: list[int]) -> int:
        start = time.monotonic()
        try:
            status, _, data = call(self.port, method, path, body, headers)
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as exc:
            with self.lock:
                self.resets += 1
                self.server_errors.append(f"reset: {method} {path[:120]} {type(exc).__name__}")
            return 0
        elapsed = time.monotonic() - start
        with self.lock:
            self.statuses[status] += 1
            if elapsed > SLOW_S:
                self.slow += 1
                self.slow_requests.append(f"{elapsed:.1f} s {status} {method} {path[:120]}")
            if status >= 500 and status != 503 or status == 503 and b"database" in data:
                self.server_errors.append(f"{status} {method} {path[:120]}: {data[:200]!r}")
            elif status == 503:  # the model declined (e.g. a hostile option it cannot run)
                self.statuses["503_model"] += 1
            self._remember(method, path, status, data, own)
        return status

    def _remember(self, method: str, path: str, status: int, data: bytes, own: list[int]) -> None:
        try:
            payload = json.loads(data) if data[:1] == b"{" else {}
        except ValueError:
            payload = {}
        for key in ("user", "reply"):
            message = payload.get(key) if isinstance(payload, dict) else None
            if status == 201 and isinstance(message, dict) and "id" in message:
                self.message_ids.append(message["id"])
                if key == "user":
                    self.acknowledged[message["id"]] = message["conversation_id"]
        if status == 201 and path.startswith("/api/conversations") and "id" in payload \
                and "messages" in payload:
            own.append(payload["id"])
        found = re.match(r"/(?:api/conversations|admin/transcripts)/(\d+)(/delete)?(?:\?|$)", path)
        if found and (method == "DELETE" and status == 204 or found.group(2) and status == 302):
            self.deleted.add(int(found.group(1)))
            if int(found.group(1)) in own:
                own.remove(int(found.group(1)))


def integrity(db: Path, attack: Attack) -> tuple[bool, list[str]]:
    connection = sqlite3.connect(db)
    try:
        problems = []
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("integrity_check failed")
        if connection.execute("PRAGMA foreign_key_check").fetchall():
            problems.append("foreign_key_check found orphans")
        stored = {row[0] for row in connection.execute("SELECT id FROM messages")}
        lost = [m for m, c in attack.acknowledged.items() if c not in attack.deleted
                and m not in stored]
        if lost:
            problems.append(f"{len(lost)} acknowledged messages lost: {lost[:5]}")
        return not problems, problems
    finally:
        connection.close()


def tiny_model(out: Path) -> Path:
    """The test suite's tiny model (tests/conftest.py), trained in seconds."""
    from train.ensure_model import TEST_MODEL_ARGS as TINY_MODEL_ARGS
    from train.train import main as train

    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the result
        trained = train([*TINY_MODEL_ARGS, "--out", str(out)])
    if trained != 0:
        raise SystemExit("bench.hostile: training the tiny model failed")
    return out


def app_rules() -> list[tuple[str, list[str], dict]]:
    """Every route of the app: (rule, its methods, its converters)."""
    from chatbot.web.app import create_app

    with tempfile.TemporaryDirectory() as scratch:
        app = create_app({"DATABASE_URL": f"sqlite:///{scratch}/rules.db", "LOAD_MODEL": False})
        rules = [(rule.rule, sorted(rule.methods - {"OPTIONS"}), dict(rule._converters))
                 for rule in app.url_map.iter_rules()]
        app.extensions["lembra.db"].kw["bind"].dispose()
    return rules


def create_admin(url: str, name: str, password: str) -> None:
    from sqlalchemy.orm import Session

    from chatbot.storage.accounts import set_admin
    from chatbot.storage.db import make_engine, upgrade

    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        set_admin(session, name, password)
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--model", help="a bundle to serve (default: train the tiny test model)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rules = app_rules()  # before the production settings below reach this process's environment
    with tempfile.TemporaryDirectory(prefix="lembra-hostile-") as scratch:
        root = Path(scratch)
        models = root / "models"
        if args.model:
            if not is_bundle(Path(args.model)):
                raise SystemExit(f"bench.hostile: {args.model} is not a model bundle")
            model = Path(args.model).resolve()
        else:
            model = tiny_model(models / "tiny")
        db = root / "hostile.db"
        name, password = "hostile-admin", "a long hostile password"
        create_admin(f"sqlite:///{db}", name, password)
        os.environ.update({"LEMBRA_RATELIMIT_CHAT_ADDRESS": "1000000 per minute",
                           "LEMBRA_RATELIMIT_LOGIN": "1000000 per minute",
                           "LEMBRA_MODELS_ROOT": str(model.parent), "LEMBRA_PRODUCTION": "1"})
        server = Server(model, db, True, Namespace(window_ms=5, workers=2, threads=16))
        try:
            server.wait_ready(180)
            attack = Attack(server.port, rules, args.seed, (name, password))
            start = time.monotonic()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(attack.one, range(args.requests)))
            seconds = time.monotonic() - start
        finally:
            server.stop()
        ok, problems = integrity(db, attack)
        if attack.server_errors:  # the server's side of the first failures, for diagnosis
            print("".join(server.log.read_text().splitlines(keepends=True)[-80:]),
                  file=sys.stderr)
    result = {
        "requests": args.requests, "status_5xx": len(attack.server_errors) - attack.resets,
        "slow_over_10s": attack.slow, "resets": attack.resets, "integrity_ok": ok,
        "seconds": round(seconds, 1), "routes": len(attack.rules),
        "acknowledged_messages": len(attack.acknowledged),
        "statuses": {str(k): v for k, v in sorted(attack.statuses.items(), key=str)},
        "problems": problems, "first_errors": attack.server_errors[:10],
        "first_slow": attack.slow_requests[:10],
    }
    print(json.dumps(result, indent=None if args.json else 2))
    clean = not (result["status_5xx"] or attack.slow or attack.resets) and ok
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
