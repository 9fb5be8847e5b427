"""The production stack (deploy/serve.py: nginx in front of gunicorn) on loopback: slow clients
cannot starve it, while the same clients straight at gunicorn do."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.load import free_port
from chatbot.config import AppConfig
from deploy.serve import PER_ADDRESS, find_nginx, render

ROOT = Path(__file__).resolve().parents[2]
TRICKLERS = 64

pytestmark = pytest.mark.skipif(find_nginx() is None,
                                reason="nginx is not installed (apt-get install nginx)")


def healthz_seconds(port: int, timeout: float = 1.0) -> float:
    """How long GET /healthz took; `timeout` + 1 when it did not answer 200 in time."""
    start = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        ok = connection.getresponse().status == 200
    except OSError:
        ok = False
    finally:
        connection.close()
    return time.monotonic() - start if ok else timeout + 1


class Tricklers:
    """Connections that send a request one header line per second and never finish it."""

    def __init__(self, port: int, count: int):
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            self.sockets.append(sock)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        n = 0
        while not self.stop.wait(1.0):
            n += 1
            for sock in self.sockets:
                try:
                    sock.sendall(f"X-Slow-{n}: a\r\n".encode())
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def test_the_nginx_config_renders_every_placeholder(tmp_path):
    text = render("127.0.0.1:1", "127.0.0.1:2", tmp_path)
    assert "@" not in text.replace("@too_", "")  # every @NAME@ filled (named locations stay)
    assert "listen 127.0.0.1:1;" in text and "server 127.0.0.1:2;" in text
    assert f"client_max_body_size {AppConfig().max_content_length};" in text
    assert f"limit_conn per_address {PER_ADDRESS};" in text


@pytest.fixture
def stack(tmp_path, tiny_bundle):
    listen, upstream = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'lembra.db'}",
           "LEMBRA_MODEL_DIR": str(tiny_bundle), "SECRET_KEY": "s" * 40,
           "LEMBRA_PRODUCTION": "1", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4",
           "GUNICORN_LOG_LEVEL": "warning", "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = open(tmp_path / "serve.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "deploy/serve.py", "--listen", f"127.0.0.1:{listen}",
         "--upstream", f"127.0.0.1:{upstream}", "--run-dir", str(tmp_path / "run")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while healthz_seconds(listen, 5) > 5:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the stack did not become healthy in 120 s"
            time.sleep(0.5)
        yield listen, upstream
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        log.close()


def test_slow_clients_do_not_starve_healthz_behind_nginx(stack):
    listen, upstream = stack
    tricklers = Tricklers(listen, TRICKLERS)
    try:
        time.sleep(1.5)  # every trickler has sent more lines since
        seconds = [healthz_seconds(listen) for _ in range(5)]
    finally:
        tricklers.close()
    assert max(seconds) < 1.0, seconds
    # The control: the same clients straight at gunicorn (4 threads) hold every slot.
    tricklers = Tricklers(upstream, TRICKLERS // 8)
    try:
        time.sleep(1.5)
        starved = healthz_seconds(upstream)
    finally:
        tricklers.close()
    assert starved > 1.0


def post(port: int, path: str, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_a_body_over_the_apps_limit_is_a_json_413_from_nginx_never_a_502(stack):
    listen, _ = stack
    limit = AppConfig().max_content_length
    for size in (limit + 1, 600 * 1024, 1024 * 1024, 4 * 1024 * 1024):
        for _ in range(3):
            status, data = post(listen, "/api/conversations", b"x" * size)
            assert status == 413 and "larger" in data["error"], (size, status, data)


def test_one_address_has_at_most_per_address_requests_in_progress(stack):
    """Requests whose bodies never finish hold their connections; past the limit the same
    address gets a JSON 429 at once, and the service is back when they go."""
    listen, _ = stack
    holders = []
    try:
        for _ in range(PER_ADDRESS + 4):
            sock = socket.create_connection(("127.0.0.1", listen), timeout=5)
            sock.sendall(b"POST /api/conversations HTTP/1.1\r\nHost: localhost\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            holders.append(sock)
        time.sleep(0.5)
        connection = http.client.HTTPConnection("127.0.0.1", listen, timeout=5)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 429 and "too many" in json.loads(response.read())["error"]
        assert response.getheader("Retry-After") == "1"
        connection.close()
    finally:
        for sock in holders:
            sock.close()
    time.sleep(0.5)
    assert healthz_seconds(listen, 5) < 5
