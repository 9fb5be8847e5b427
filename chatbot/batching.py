"""Micro-batching: concurrent reply requests of one worker share one decoder call.

A gunicorn worker runs several request threads (gthread). Decoding one history at a time leaves
most of each matrix multiply idle; decoding sixteen at once costs little more than one. So each
request hands its history to a small per-process queue and waits on a future; one thread takes
whatever has arrived within `window_ms` of the oldest waiting request (or `max_size` requests,
whichever comes first), runs `Bot.reply_batch` once per group, and completes the futures. This is
the scheme of TensorFlow Serving's batching (`batch_timeout_micros`, `max_batch_size`). While
the thread decodes, new requests queue up, so under load batches fill without waiting at all.

Grouping: `reply_batch` takes one `DecodeOptions` for the whole batch, so requests are grouped by
bot, `explain`, and every option except the seed. Sampled requests each carry their own random
seed (the page never sends one), and grouping on it would put every sampled request in a batch of
one. Instead each request's rows draw from its own seed (`reply_batch(seeds=...)`: the sampler
takes its noise per row), so a stored seed replays its reply exactly, whatever batch wrote it.

The queue and its thread are made lazily in the process that uses them, never before a fork
(gunicorn runs without `--preload`), and the thread exits after `IDLE_S` without work.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # these import TensorFlow; the queue itself does not need it
    from chatbot.bot import Bot, Reply
    from chatbot.decoding import DecodeOptions

IDLE_S = 30.0


@dataclasses.dataclass
class _Request:
    bot: Bot
    history: list[str]
    options: DecodeOptions
    explain: bool
    future: Future
    avoid: list[str] = dataclasses.field(default_factory=list)  # replies a regenerate replaces
    arrived: float = dataclasses.field(default_factory=time.perf_counter)

    def key(self) -> tuple[Any, ...]:
        options = {k: v for k, v in self.options.to_dict().items() if k != "seed"}
        return id(self.bot), self.explain, tuple(sorted(options.items()))


class Batcher:
    """Collects `submit`ted requests for up to `window_ms` and decodes them in batches."""

    def __init__(self, window_ms: float, max_size: int):
        self.window = max(0.0, window_ms) / 1000.0
        self.max_size = max(1, max_size)
        self.batches = 0  # how many decoder calls; with `requests`, the mean batch size
        self.requests = 0
        self._pending: list[_Request] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, bot: Bot, history: list[str], options: DecodeOptions,
               explain: bool = False, avoid: list[str] | None = None) -> Future:
        """Queue one history; the future gives its Reply or the decoder's exception."""
        request = _Request(bot, history, options, explain, Future(), list(avoid or []))
        with self._ready:
            if self._pid != os.getpid():  # forked after use: the parent's thread is not here
                self._pid, self._pending, self._thread = os.getpid(), [], None
            self._pending.append(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lembra-batcher",
                                                daemon=True)
                self._thread.start()
            self._ready.notify()
        return request.future

    def reply(self, bot: Bot, history: list[str], options: DecodeOptions, explain: bool = False,
              timeout: float | None = None, avoid: list[str] | None = None) -> Reply:
        """Submit and wait; the Reply's latency covers the wait in the queue too."""
        start = time.perf_counter()
        reply = self.submit(bot, history, options, explain, avoid).result(timeout)
        return dataclasses.replace(reply, latency_ms=(time.perf_counter() - start) * 1000.0)

    # -- the decoding thread ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._decode(batch)

    def _next_batch(self) -> list[_Request] | None:
        """Wait for work, then for the window to close; None when idle for IDLE_S."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._pending, IDLE_S):
                self._thread = None
                return None
            while len(self._pending) < self.max_size:
                left = self._pending[0].arrived + self.window - time.perf_counter()
                if left <= 0:
                    break
                self._ready.wait(left)
            # The oldest request's group goes first; the others keep their place in the queue.
            key = self._pending[0].key()
            batch = [r for r in self._pending if r.key() == key][: self.max_size]
            chosen = {id(r) for r in batch}
            self._pending = [r for r in self._pending if id(r) not in chosen]
            return batch

    def _decode(self, batch: list[_Request]) -> None:
        first = batch[0]
        try:
            replies = first.bot.reply_batch([r.history for r in batch], first.options,
                                            explain=first.explain, avoid=[r.avoid for r in batch],
                                            seeds=[r.options.seed for r in batch])
        except BaseException as exc:  # every waiting request hears of the failure
            for request in batch:
                request.future.set_exception(exc)
            return
        self.batches += 1
        self.requests += len(batch)
        for request, reply in zip(batch, replies):
            request.future.set_result(reply)
