"""The micro-batching queue: who shares a batch, how errors travel, and that batching does not
change greedy replies."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatbot import batching
from chatbot.batching import Batcher
from chatbot.bot import Reply
from chatbot.decoding import DecodeOptions


class FakeBot:
    """Records each reply_batch call; replies echo the history, after an optional pause."""

    def __init__(self, pause: float = 0.0, fail: Exception | None = None):
        self.calls: list[tuple[list[list[str]], DecodeOptions, bool]] = []
        self.pause, self.fail = pause, fail
        self.threads: set[str] = set()

    def reply_batch(self, histories, options=None, explain=False, avoid=None, seeds=None):
        self.calls.append((histories, options, explain))
        self.avoided = avoid
        self.threads.add(threading.current_thread().name)
        time.sleep(self.pause)
        if self.fail is not None:
            raise self.fail
        seeds = seeds or [options.seed] * len(histories)
        return [Reply(h[-1].upper(), [], 1.0, "fake", {**options.to_dict(), "seed": seed}, None)
                for h, seed in zip(histories, seeds)]


def submit_all(queue, bot, jobs):
    """Submit (text, options, explain) jobs at once from as many threads; their replies."""
    start = threading.Barrier(len(jobs))

    def one(job):
        text, options, explain = job
        start.wait()
        return queue.reply(bot, [text], options, explain, timeout=10)

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(one, jobs))


def test_concurrent_requests_share_one_decoder_call():
    bot, queue = FakeBot(), Batcher(window_ms=200, max_size=16)
    options = DecodeOptions(mode="greedy")
    replies = submit_all(queue, bot, [(f"m{i}", options, False) for i in range(8)])
    assert [r.text for r in replies] == [f"M{i}" for i in range(8)]  # each caller gets its own
    assert len(bot.calls) == 1 and len(bot.calls[0][0]) == 8
    assert bot.threads == {"lembra-batcher"}
    assert all(r.latency_ms > 0 for r in replies)


def test_each_request_keeps_the_replies_it_must_not_repeat():
    bot, queue = FakeBot(), Batcher(window_ms=200, max_size=16)
    start = threading.Barrier(2)

    def one(avoid):
        start.wait()
        return queue.reply(bot, ["again"], DecodeOptions(), timeout=10, avoid=avoid)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, [["old reply"], []]))
    assert len(bot.calls) == 1
    assert sorted(bot.avoided) == [[], ["old reply"]]


def test_batches_are_capped_at_max_size():
    bot, queue = FakeBot(), Batcher(window_ms=200, max_size=3)
    submit_all(queue, bot, [(f"m{i}", DecodeOptions(), False) for i in range(7)])
    assert sorted(len(call[0]) for call in bot.calls) == [1, 3, 3]


def test_requests_group_by_options_and_explain_but_not_seed():
    bot, queue = FakeBot(), Batcher(window_ms=200, max_size=16)
    jobs = [
        ("a", DecodeOptions(mode="sample", seed=1), False),
        ("b", DecodeOptions(mode="sample", seed=2), False),  # same batch: seeds differ only
        ("c", DecodeOptions(mode="sample", seed=3, temperature=1.0), False),
        ("d", DecodeOptions(mode="sample", seed=4), True),
        ("e", DecodeOptions(mode="beam"), False),
    ]
    replies = submit_all(queue, bot, jobs)
    assert sorted(sorted(h[0] for h in call[0]) for call in bot.calls) == [
        ["a", "b"], ["c"], ["d"], ["e"]]
    for histories, _options, explain in bot.calls:
        assert explain == (histories == [["d"]])
    # A shared batch hands each request's own seed to the bot.
    by_text = {r.text: r for r in replies}
    assert (by_text["A"].options["seed"], by_text["B"].options["seed"]) == (1, 2)


def test_a_failure_reaches_every_waiting_request():
    bot, queue = FakeBot(fail=RuntimeError("decoder broke")), Batcher(window_ms=100, max_size=8)
    futures = [queue.submit(bot, [f"m{i}"], DecodeOptions()) for i in range(4)]
    for future in futures:
        with pytest.raises(RuntimeError, match="decoder broke"):
            future.result(timeout=10)
    bot.fail = None
    assert queue.reply(bot, ["again"], DecodeOptions(), timeout=10).text == "AGAIN"


def test_requests_arriving_while_decoding_form_the_next_batch():
    bot, queue = FakeBot(pause=0.2), Batcher(window_ms=1, max_size=16)
    first = queue.submit(bot, ["first"], DecodeOptions())
    time.sleep(0.05)  # the first batch (of one) is decoding now
    rest = [queue.submit(bot, [f"m{i}"], DecodeOptions()) for i in range(5)]
    for future in [first, *rest]:
        future.result(timeout=10)
    assert [len(call[0]) for call in bot.calls] == [1, 5]


def test_the_thread_exits_when_idle_and_comes_back(monkeypatch):
    monkeypatch.setattr(batching, "IDLE_S", 0.05)
    bot, queue = FakeBot(), Batcher(window_ms=0, max_size=4)
    queue.reply(bot, ["one"], DecodeOptions(), timeout=10)
    deadline = time.monotonic() + 5
    while queue._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue._thread is None
    assert queue.reply(bot, ["two"], DecodeOptions(), timeout=10).text == "TWO"


def test_batched_greedy_replies_match_single_replies(random_bundle):
    from chatbot.bot import Bot

    bot = Bot.load(random_bundle)
    options = DecodeOptions(mode="greedy", max_len=8)
    texts = ["hello how are you", "pizza", "do you have any pets at home", "good morning"]
    alone = [bot.reply([t], options).text for t in texts]
    queue = Batcher(window_ms=200, max_size=8)
    together = submit_all(queue, bot, [(t, options, False) for t in texts])
    assert [r.text for r in together] == alone
    assert queue.batches == 1 and queue.requests == 4
