"""The production stack: nginx (deploy/nginx.conf) in front of gunicorn (gunicorn.conf.py).

    python deploy/serve.py --listen 0.0.0.0:80            # what `make serve-production` runs
    python deploy/serve.py --listen 127.0.0.1:8080 --upstream 127.0.0.1:8001 --run-dir /tmp/x

nginx takes the clients and buffers them (slow ones cannot hold gunicorn's threads); gunicorn
listens on loopback only (`--upstream`) and trusts one proxy hop (LEMBRA_PROXY_HOPS=1), so the
app sees each client's address and scheme from nginx's X-Forwarded-* headers. Both run in the
foreground; SIGTERM or Ctrl-C stops both, and if either exits the other is stopped too.
Everything else (SECRET_KEY, LEMBRA_PRODUCTION, DATABASE_URL, ...) comes from the environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "nginx.conf"


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


PER_ADDRESS = 64  # requests of one client address in progress at once, behind nginx


def render(listen: str, upstream: str, run_dir: Path, max_body: int | None = None,
           per_address: int = PER_ADDRESS) -> str:
    """deploy/nginx.conf with its @NAME@ placeholders filled in; `max_body` defaults to the
    app's LEMBRA_MAX_CONTENT_LENGTH, so nginx refuses what the app would."""
    from chatbot.config import AppConfig  # plain Python, no TensorFlow

    if max_body is None:
        max_body = AppConfig.from_env().max_content_length
    values = {"LISTEN": listen, "UPSTREAM": upstream, "RUN": str(run_dir),
              "MAX_BODY": str(max_body), "PER_ADDRESS": str(per_address)}
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:8080", help="where nginx listens")
    parser.add_argument("--upstream", default="127.0.0.1:8001",
                        help="gunicorn's loopback address, which only nginx talks to")
    parser.add_argument("--run-dir", default=str(ROOT / "instance" / "run"),
                        help="nginx's rendered config, pid, temp files and error log")
    return parser.parse_args(argv)


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nginx = find_nginx()
    if nginx is None:
        print("serve-production: nginx is not installed (Debian: apt-get install nginx)",
              file=sys.stderr)
        return 1
    run_dir = Path(args.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    conf = run_dir / "nginx.conf"
    conf.write_text(render(args.listen, args.upstream, run_dir))
    env = {**os.environ, "GUNICORN_BIND": args.upstream}
    env.setdefault("LEMBRA_PROXY_HOPS", "1")
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                 "app:app"], cwd=ROOT, env=env, start_new_session=True)
    proxy = subprocess.Popen([nginx, "-c", str(conf), "-p", str(run_dir), "-e",
                              str(run_dir / "error.log")], cwd=run_dir, start_new_session=True)
    print(f"Lembra on http://{args.listen} (nginx) -> gunicorn on {args.upstream}", flush=True)
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stopping.append(signum))
    try:
        while not stopping and gunicorn.poll() is None and proxy.poll() is None:
            time.sleep(0.2)
    finally:
        _stop(proxy)
        _stop(gunicorn)
    if stopping:
        return 0
    failed = "gunicorn" if gunicorn.returncode not in (None, 0) else "nginx"
    print(f"serve-production: {failed} exited; see {run_dir / 'error.log'} and the log above",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # run as a script (`python deploy/serve.py`): chatbot.config
    sys.exit(main())
