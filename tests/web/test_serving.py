"""Batching through the web app: concurrent posts share a decoder call; a window of 0 turns it off."""

from __future__ import annotations

import threading

from chatbot.config import AppConfig
from chatbot.web.serving import BATCHER


def post_concurrently(app, visitor_for, count: int) -> list:
    visitors = [visitor_for(app) for _ in range(count)]
    urls = [f"/api/conversations/{v.new_conversation()}/messages" for v in visitors]
    for v in visitors:
        assert v.token  # fetch the CSRF tokens before the race
    start = threading.Barrier(count)
    responses: list = [None] * count

    def post(i: int) -> None:
        start.wait()
        responses[i] = visitors[i].post(urls[i], {"text": f"hello number {i}",
                                                  "options": {"mode": "greedy"}})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return responses


def test_concurrent_posts_share_a_batch_and_each_gets_its_reply(make_app, visitor_for, bot):
    app = make_app(BOT=bot, BATCH_WINDOW_MS=300.0, BATCH_MAX_SIZE=8)
    responses = post_concurrently(app, visitor_for, 4)
    assert [r.status_code for r in responses] == [201] * 4
    for i, response in enumerate(responses):
        data = response.get_json()
        assert data["user"]["text"] == f"hello number {i}"
        assert data["reply"]["text"].strip() and data["reply"]["options"]["mode"] == "greedy"
    queue = app.extensions[BATCHER]
    assert queue.requests == 4 and queue.batches < 4


def test_a_zero_window_turns_batching_off(make_app, visitor_for, bot):
    assert AppConfig.from_env({"LEMBRA_BATCH_WINDOW_MS": "0"}).batch_window_ms == 0
    app = make_app(BOT=bot, BATCH_WINDOW_MS=0)
    assert [r.status_code for r in post_concurrently(app, visitor_for, 2)] == [201, 201]
    assert app.extensions.get(BATCHER) is None


def test_a_decoder_failure_is_a_503_for_every_waiting_request(make_app, visitor_for, bot,
                                                              monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    app = make_app(BOT=bot, BATCH_WINDOW_MS=200.0)
    monkeypatch.setattr(bot, "reply_batch", broken)
    responses = post_concurrently(app, visitor_for, 3)
    assert [r.status_code for r in responses] == [503] * 3
    for response in responses:
        assert "RuntimeError" in response.get_json()["error"]
        assert response.get_json()["user"]["text"].startswith("hello number")


def test_warm_up_compiles_the_sampler_unless_xla_is_off(tiny_bundle):
    from flask import Flask

    from chatbot.web.serving import load_bot

    assert AppConfig.from_env({"LEMBRA_XLA": "0"}).xla is False and AppConfig().xla
    app = Flask("warm-up")
    app.config.update(WARM_UP=True, XLA=True)
    compiled = load_bot(app, tiny_bundle)
    assert compiled.decoder.xla and len(compiled.decoder.compiled_shapes) >= 2
    app.config["XLA"] = False
    plain = load_bot(app, tiny_bundle)
    assert not plain.decoder.xla and not plain.decoder.compiled_shapes
    assert plain.reply(["hello"]).text.strip()
