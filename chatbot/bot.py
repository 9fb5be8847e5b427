"""The bot: a model bundle plus the compiled decoder, answering `reply(history, options)`.

Flask, the CLI and the benchmarks all talk to the model through this class only. A reply is never
shown cut mid-sentence: one that reached `max_len` without ending is trimmed back to its last
sentence end, or else to its last whole word.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chatbot import explanation
from chatbot.bundle import Bundle, load_bundle
from chatbot.decoding import CompiledDecoder, DecodeOptions
from chatbot.rerank import RerankWeights, source_array, teacher_arrays

SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")
MAX_PIECES = 64  # the longest reply any decoding option allows
UNFINISHED = 1e6  # how far the rerank pushes a trimmed candidate down: a fallback only


@dataclass
class Reply:
    text: str
    pieces: list[str]  # SentencePiece pieces of the text, as generated
    latency_ms: float
    model_version: str
    options: dict
    explanation: dict | None = field(default=None)
    finished: bool = True  # ended with the end-of-reply token, not at max_len
    # Mean log-probability per piece (and the end token, when it ended) under the model's own
    # distribution, before temperature, top-k/p and bans: near 0 is sure, very negative unsure.
    confidence: float | None = None


@dataclass
class Candidate:
    """One decoded row: its ids up to (not including) eos, whether it ended, and its trimmed length."""

    ids: list[int]
    finished: bool
    keep: int


class Bot:
    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.tokenizer = bundle.tokenizer
        self.config = bundle.config
        self.version = bundle.version
        self.decoder = CompiledDecoder(bundle.model, blank_id=self.tokenizer.blank_id)
        self.backward = (CompiledDecoder(bundle.backward, blank_id=self.tokenizer.blank_id)
                         if bundle.backward is not None else None)
        self.weights = bundle.rerank or RerankWeights()

    @classmethod
    def load(cls, path: str | Path) -> "Bot":
        return cls(load_bundle(path))

    def encode_histories(self, histories: list[list[str]]) -> tuple[np.ndarray, list[list[int]]]:
        """Right-padded source ids (B, S) from each conversation's last turns."""
        cfg = self.config
        ids = [self.tokenizer.encode_context(h, cfg.context_turns, cfg.max_src_len)
               for h in histories]
        return source_array(ids), ids

    def reply(self, history: list[str], options: DecodeOptions | None = None,
              explain: bool = False, avoid: list[str] | None = None) -> Reply:
        return self.reply_batch([history], options, explain, [avoid or []])[0]

    def reply_batch(self, histories: list[list[str]], options: DecodeOptions | None = None,
                    explain: bool = False, avoid: list[list[str]] | None = None) -> list[Reply]:
        """One decoder call for all histories: the way concurrent requests share the CPU.

        `avoid[b]` lists replies already given to history b ("regenerate"): the new reply may not
        start with any of their first pieces, so it differs in every mode.
        """
        if not histories:
            return []
        options = options or DecodeOptions()
        avoid = avoid or [[] for _ in histories]
        start = time.perf_counter()
        source, ids = self.encode_histories(histories)
        banned = self._first_pieces(avoid)
        if options.mode == "rerank":
            n = options.candidates
            sampling = dataclasses.replace(options, mode="sample")
            out = self.decoder.run(np.repeat(source, n, 0), sampling, np.repeat(banned, n, 0))
            candidates = [self._candidate(row) for row in out["tokens"]]
            rows, scores = self._rerank(histories, source, candidates, n, out["logp"])
        else:
            out = self.decoder.run(source, options, banned)
            candidates = [self._candidate(row) for row in out["tokens"]]
            rows, scores = list(range(len(histories))), None
        confidences = self._confidences(source, candidates, rows, out.get("logp"))
        latency = (time.perf_counter() - start) * 1000.0
        replies = []
        for src_ids, row, confidence in zip(ids, rows, confidences):
            cand = candidates[row]
            kept = cand.ids[: cand.keep]
            pieces = self.tokenizer.pieces(kept)
            explanation = None
            if explain:
                explanation = self._explain(src_ids, pieces, out["attention"][row],
                                            out["gates"][row])
                if scores is not None:
                    explanation["candidates"] = self._scored(candidates, scores, row, n)
            replies.append(Reply(self.tokenizer.decode(kept), pieces, latency, self.version,
                                 options.to_dict(), explanation, cand.finished, confidence))
        return replies

    def _confidences(self, source, candidates: list[Candidate], rows: list[int],
                     logp: np.ndarray | None) -> list[float | None]:
        """Each chosen candidate's mean log p per piece: what the sampler recorded, else (beam
        search, whose scores are length-penalised and masked) one teacher-forced pass."""
        chosen = [candidates[r] for r in rows]
        counts = [c.keep + c.finished for c in chosen]
        if logp is not None:
            sums = [logp[r][:n].sum() for r, n in zip(rows, counts)]
        else:
            t_in, t_out = teacher_arrays([c.ids[: c.keep] for c in chosen],
                                         [c.finished for c in chosen])
            sums = self.decoder.score(source, t_in, t_out).numpy()
        return [float(s) / n if n else None for s, n in zip(sums, counts)]

    def explain(self, history: list[str], reply_text: str) -> dict:
        """The full explanation of a reply already given (teacher-forced, so exact for any stored
        reply, whichever search produced it): see `chatbot.explanation`."""
        source, _ = self.encode_histories([history])
        target = self.tokenizer.encode(reply_text)[:MAX_PIECES] or [self.tokenizer.eos_id]
        out = self.decoder.force(source, np.asarray([target], np.int32))
        row = {name: value.numpy()[0] for name, value in out.items()}
        return explanation.build(self.tokenizer, history, self.config.context_turns,
                                 self.config.max_src_len, self.tokenizer.pieces(target), row)

    def score(self, histories: list[list[str]], replies: list[str]) -> dict[str, np.ndarray]:
        """Each reply's forward and backward log-likelihood, its length in pieces and its rerank
        score: what the rerank mode ranks candidates by, for evaluation."""
        source, _ = self.encode_histories(histories)
        cap = self.config.max_tgt_len - 1
        cands = []
        for text in replies:
            ids = self.tokenizer.encode(text)
            cands.append(Candidate(ids[:cap], len(ids) <= cap, min(len(ids), cap)))
        forward, backward = self._likelihoods(histories, source, cands)
        lengths = np.array([c.keep for c in cands])
        return {"forward": forward, "backward": backward, "length": lengths,
                "rerank": self.weights.combine(forward, backward, lengths)}

    # -- candidates ---------------------------------------------------------------------------

    def _candidate(self, tokens: np.ndarray) -> Candidate:
        ids, finished = [], False
        for t in tokens.tolist():
            if t == self.tokenizer.eos_id:
                finished = True
                break
            ids.append(t)
        keep = len(ids) if finished else trimmed_length(self.tokenizer.pieces(ids))
        return Candidate(ids, finished, keep)

    def _first_pieces(self, avoid: list[list[str]]) -> np.ndarray:
        """(B, K) pieces that would begin a reply the way one to avoid begins, padded with 0 (pad,
        never generated)."""
        firsts = [sorted({i for text in texts for i in self.tokenizer.starting_pieces(text)})
                  for texts in avoid]
        out = np.zeros((len(avoid), max(1, *(len(f) for f in firsts))), np.int32)
        for row, f in zip(out, firsts):
            row[: len(f)] = f
        return out

    def _likelihoods(self, histories, source, cands: list[Candidate], forward=None):
        """Forward log p(reply | context) and backward log p(last message | reply) per candidate
        (backward None without a backward model); `source` has one row per candidate. A forward
        score the sampler already recorded is not computed again."""
        kept = [c.ids[: c.keep] for c in cands]
        if forward is None:
            t_in, t_out = teacher_arrays(kept, [c.finished for c in cands])
            forward = self.decoder.score(source, t_in, t_out).numpy()
        if self.backward is None:
            return forward, None
        cap = self.config.max_tgt_len - 1
        messages = []
        for history in histories:
            ids = self.tokenizer.encode(history[-1]) if history else []
            messages.append((ids[:cap], len(ids) <= cap))
        m_in, m_out = teacher_arrays([m[0] or [self.tokenizer.unk_id] for m in messages],
                                     [m[1] for m in messages])
        backward = self.backward.score(source_array(kept), m_in, m_out).numpy()
        return forward, backward

    def _rerank(self, histories, source, candidates: list[Candidate], n: int,
                logp: np.ndarray) -> tuple[list[int], np.ndarray]:
        """The row of the best of each history's n candidates, and every candidate's score:
        finished ones first (a trimmed reply is a fallback), then by the MMI score. `logp`
        (B*n, L): the sampler's log p of each generated piece, so a forward score is a sum."""
        repeated = [h for h in histories for _ in range(n)]
        recorded = np.array([row[: c.keep + c.finished].sum() for row, c in zip(logp, candidates)])
        forward, backward = self._likelihoods(repeated, None, candidates, recorded)
        lengths = np.array([c.keep for c in candidates])
        score = self.weights.combine(forward, backward, lengths)
        score = score - np.where([c.finished and c.keep > 0 for c in candidates], 0.0, UNFINISHED)
        rows = [b * n + int(np.argmax(score[b * n:(b + 1) * n])) for b in range(len(histories))]
        return rows, score

    def _scored(self, candidates: list[Candidate], scores: np.ndarray, row: int, n: int) -> list[dict]:
        """The rerank candidates of the history whose reply is `row`, best first, each text once:
        what "Why this reply?" shows beside the reply that won."""
        first = row - row % n
        seen, out = set(), []
        for i in sorted(range(first, first + n), key=lambda i: -scores[i]):
            cand = candidates[i]
            text = self.tokenizer.decode(cand.ids[: cand.keep])
            if text and text not in seen:
                seen.add(text)
                raw = float(scores[i]) + (0.0 if cand.finished and cand.keep else UNFINISHED)
                out.append({"text": text, "score": round(raw, 3),
                            "finished": cand.finished, "chosen": i == row})
        return out

    def _explain(self, src_ids, pieces, attention, gates) -> dict:
        n = len(pieces)
        return {
            "source": self.tokenizer.pieces(src_ids),
            "reply": pieces,
            "attention": _rounded(attention[:n, : len(src_ids)]),
            "gates": {name: _rounded(gates[:n, i])
                      for i, name in enumerate(("input", "forget", "output"))},
        }


def trimmed_length(pieces: list[str]) -> int:
    """How many pieces of a reply cut at max_len to show: through its last sentence end, else
    up to its last word (which the cut may have split), else all of it."""
    for i in range(len(pieces) - 1, -1, -1):
        if SENTENCE_END.search(pieces[i]):
            return i + 1
    starts = [i for i, p in enumerate(pieces) if p.startswith("\u2581")]
    return starts[-1] if starts and starts[-1] > 0 else len(pieces)


def _rounded(values: np.ndarray) -> list:
    """float64 before rounding, so JSON gets 0.8551 rather than 0.8550999760627747."""
    return np.round(np.asarray(values, np.float64), 4).tolist()
