"""The bot: a model bundle plus the compiled decoder, answering `reply(history, options)`.

Flask, the CLI and the benchmarks all talk to the model through this class only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chatbot.bundle import Bundle, load_bundle
from chatbot.decoding import CompiledDecoder, DecodeOptions


@dataclass
class Reply:
    text: str
    tokens: list[str]
    latency_ms: float
    model_version: str
    options: dict
    explanation: dict | None = field(default=None)


class Bot:
    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.tokenizer = bundle.tokenizer
        self.config = bundle.config
        self.version = bundle.version
        self.decoder = CompiledDecoder(bundle.model, blank_id=self.tokenizer.blank_id)

    @classmethod
    def load(cls, path: str | Path) -> "Bot":
        return cls(load_bundle(path))

    def encode_histories(self, histories: list[list[str]]) -> tuple[np.ndarray, list[list[int]]]:
        """Right-padded source ids (B, S) from each conversation's last turns."""
        cfg = self.config
        ids = [self.tokenizer.encode_context(h, cfg.context_turns, cfg.max_src_len)
               for h in histories]
        source = np.zeros((len(ids), max(len(x) for x in ids)), np.int32)
        for row, x in zip(source, ids):
            row[: len(x)] = x
        return source, ids

    def reply(self, history: list[str], options: DecodeOptions | None = None,
              explain: bool = False) -> Reply:
        return self.reply_batch([history], options, explain)[0]

    def reply_batch(self, histories: list[list[str]], options: DecodeOptions | None = None,
                    explain: bool = False) -> list[Reply]:
        """One decoder call for all histories: the way concurrent requests share the CPU."""
        if not histories:
            return []
        options = options or DecodeOptions()
        start = time.perf_counter()
        source, ids = self.encode_histories(histories)
        out = self.decoder.run(source, options)
        latency = (time.perf_counter() - start) * 1000.0
        replies = []
        for b, src_ids in enumerate(ids):
            tokens = _until_eos(out["tokens"][b], self.tokenizer.eos_id)
            pieces = self.tokenizer.pieces(tokens)
            explanation = None
            if explain:
                explanation = self._explain(src_ids, pieces, out["attention"][b], out["gates"][b])
            replies.append(Reply(self.tokenizer.decode(tokens), pieces, latency, self.version,
                                 options.to_dict(), explanation))
        return replies

    def explain(self, history: list[str], reply_text: str) -> dict:
        """Attention and gate activity for a reply already given (teacher-forced): exact for any
        stored reply, whichever search produced it."""
        source, ids = self.encode_histories([history])
        target = self.tokenizer.encode(reply_text)[: self.config.max_tgt_len] or [self.tokenizer.eos_id]
        out = self.decoder.force(source, np.asarray([target], np.int32))
        return self._explain(ids[0], self.tokenizer.pieces(target), out["attention"].numpy()[0],
                             out["gates"].numpy()[0])

    def _explain(self, src_ids, pieces, attention, gates) -> dict:
        n = len(pieces)
        return {
            "source": self.tokenizer.pieces(src_ids),
            "reply": pieces,
            "attention": _rounded(attention[:n, : len(src_ids)]),
            "gates": {name: _rounded(gates[:n, i])
                      for i, name in enumerate(("input", "forget", "output"))},
        }


def _rounded(values: np.ndarray) -> list:
    """float64 before rounding, so JSON gets 0.8551 rather than 0.8550999760627747."""
    return np.round(np.asarray(values, np.float64), 4).tolist()


def _until_eos(tokens: np.ndarray, eos_id: int) -> list[int]:
    out = []
    for t in tokens.tolist():
        if t == eos_id:
            break
        out.append(t)
    return out
