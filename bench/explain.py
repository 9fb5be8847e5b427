""""Why this reply?" speed and size: the explanation endpoint on the shipped model.

    python -m bench.explain --model models/default --json

Posts each prompt as a visitor would (the page's default options, explanation asked for) through
Flask's test client on a temporary SQLite database, then times GET /api/messages/<id>/explanation
twice: first (the teacher-forced pass, the words, the units, stored) and again (read back). The
target is the panel opening in under 300 ms; the baseline is the reply itself, timed the same way.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from chatbot.percentile import percentile
from chatbot.web.app import create_app
from chatbot.web.serving import load_bot

PROMPTS = [
    "hi! how was your weekend?", "i spent sunday cooking pasta with my sister. what do you like?",
    "do you have any pets?", "what music do you like?", "tell me about your day",
    "i am so tired today, work was long and my boss kept asking for more reports",
    "where did you grow up?", "have you seen any good movies lately",
]


def run(model: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{tmp}/lembra.db",
                          "LOAD_MODEL": False, "RATELIMIT_ENABLED": False, "TESTING": True})
        app.extensions["lembra.bot"] = load_bot(app, model)
        client = app.test_client()
        headers = {"X-CSRF-Token": client.get("/api/csrf").get_json()["csrf_token"]}
        conversation = client.post("/api/conversations", json={}, headers=headers).get_json()["id"]
        reply_ms, first_ms, stored_ms, sizes, pieces = [], [], [], [], []
        for text in PROMPTS:
            start = time.perf_counter()
            reply = client.post(f"/api/conversations/{conversation}/messages",
                                json={"text": text, "explain": True}, headers=headers).get_json()["reply"]
            reply_ms.append((time.perf_counter() - start) * 1000)
            url = f"/api/messages/{reply['id']}/explanation"
            for times in (first_ms, stored_ms):
                start = time.perf_counter()
                body = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            sizes.append(len(body.data))
            pieces.append(len(body.get_json()["explanation"]["reply"]))
    return {
        "model": model, "replies": len(PROMPTS), "reply_pieces": [min(pieces), max(pieces)],
        "reply_ms_p50": round(percentile(reply_ms, 50), 1),
        "explain_first_ms_p50": round(percentile(first_ms, 50), 1),
        "explain_first_ms_max": round(max(first_ms), 1),
        "explain_stored_ms_p50": round(percentile(stored_ms, 50), 1),
        "payload_bytes": [min(sizes), max(sizes)],
        "target_ms": 300, "meets_target": max(first_ms) < 300,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/default")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.model)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
