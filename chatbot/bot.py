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
from chatbot.decoding import CompiledDecoder, DecodeOptions, sampler_noise
from chatbot.repetition import repeats_a_word
from chatbot.rerank import PRIOR_PIECES, RerankWeights, agreement, source_array, teacher_arrays
from chatbot.scorer import fit_label

SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")
MAX_PIECES = 64  # the longest reply any decoding option allows
UNFINISHED = 1e6  # how far the rerank pushes a trimmed candidate down: a fallback only
CHEERFUL = 1e3  # and a cheerful one under bad news: shown only when every candidate is cheerful
REPEATED = 1e2  # and one that says a content word twice within four words ("cook and cook")
SAD_DEPTH = 4  # under bad news, examples come from this many times the draft count, cheer left out
KIND_FIRST = 2.0  # added to a kind reply's search score under bad news: above every other reply


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
    exemplar: str | None = None  # the retrieved reply the LSTM wrote this one with in view
    borrowed: bool = False  # shown as retrieved ("borrow" on), not written by the LSTM


@dataclass
class Candidate:
    """One decoded row: its ids up to (not including) eos, whether it ended, and its trimmed length."""

    ids: list[int]
    finished: bool
    keep: int


class _Clock:
    """Adds each stage's milliseconds to `timings` (a no-op without one)."""

    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.timings is None:
            return
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + (now - self.last) * 1000.0
        self.last = now


class Bot:
    def __init__(self, bundle: Bundle, xla: bool = True):
        """`xla`: compile the sampling loop with XLA, once per shape bucket (chatbot.decoding);
        off, the same loop runs as a plain graph, slower but with nothing to compile."""
        self.bundle = bundle
        self.tokenizer = bundle.tokenizer
        self.config = bundle.config
        self.version = bundle.version
        self.decoder = CompiledDecoder(bundle.model, blank_id=self.tokenizer.blank_id,
                                       exemplar_id=self.tokenizer.exemplar_id, xla=xla)
        self.backward = (CompiledDecoder(bundle.backward, blank_id=self.tokenizer.blank_id,
                                         xla=xla)
                         if bundle.backward is not None else None)
        self.weights = bundle.rerank or RerankWeights()
        self.scorer = None
        if bundle.scorer is not None:
            from chatbot.scorer import CompiledScorer

            self.scorer = CompiledScorer(bundle.scorer)
        self.memory = bundle.memory if self.scorer is not None else None
        # Retrieve and refine: the encoder reads a retrieved reply before the context.
        self.refines = bool(self.config.max_exemplar_len and self.tokenizer.exemplar_id is not None
                            and self.memory is not None and len(self.memory))
        self.matcher = None  # the messages the memory's replies followed, where it kept them
        if self.memory is not None and self.memory.messages is not None and self.weights.match:
            from chatbot.message_match import MessageIndex

            self.matcher = MessageIndex(self.memory.messages)
        self.kind = None  # which memory replies meet bad news kindly ("i'm so sorry to hear that")
        if self.refines:
            from chatbot.sentiment import is_condolence

            self.kind = np.array([is_condolence(t) for t in self.memory.texts], np.float32)

    @classmethod
    def load(cls, path: str | Path, xla: bool = True) -> "Bot":
        return cls(load_bundle(path), xla)

    def encode_histories(self, histories: list[list[str]],
                         exemplars: list[str | None] | None = None) -> tuple[np.ndarray, list[list[int]]]:
        """Right-padded source ids (B, S) from each conversation's last turns, after the example
        each is written with (a retrieve-and-refine model; by default the best retrieved one)."""
        cfg = self.config
        if exemplars is None:
            exemplars = self.exemplars(histories)
        ids = [self.tokenizer.encode_source(h, ex, cfg.context_turns, cfg.max_src_len,
                                            cfg.max_exemplar_len)
               for h, ex in zip(histories, exemplars)]
        return source_array(ids), ids

    def exemplars(self, histories: list[list[str]], k: int = 1) -> list[str | None]:
        """The k best replies of the memory for each history, flattened (history-major): the
        examples a retrieve-and-refine model writes from; None for any other model, and a
        history with fewer than k distinct ones repeats its best."""
        return [text for text, _ in self._examples(histories, k)]

    def _examples(self, histories: list[list[str]], k: int, contexts: np.ndarray | None = None,
                  sad: list[bool] | None = None) -> list[tuple[str | None, float]]:
        """`exemplars`, each with how alike the message it followed is to the visitor's (0
        without a message index). Under bad news the kind replies come first and none that
        cheers is taken: the LSTM copies from what it reads, so a cheerful example gives a
        cheerful draft ("wow she sounds amazing" to a death in the family)."""
        from chatbot.sentiment import is_cheerful

        if not self.refines:
            return [(None, 0.0)] * (len(histories) * k)
        sad = self._bad_news(histories) if sad is None else sad
        index, match = self._search(histories, SAD_DEPTH * k, contexts, sad)
        out = []
        for b, row in enumerate(index):
            found = [(self.memory.texts[i], float(match[b, j])) for j, i in enumerate(row)]
            kept = [f for f in found if not (sad[b] and is_cheerful(f[0]))][:k] or found[:k]
            out += [kept[j % len(kept)] for j in range(k)]
        return out

    def _search(self, histories: list[list[str]], k: int, contexts: np.ndarray | None = None,
                sad: list[bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The memory's k best rows for each history (B, k), best first, and each one's message
        similarity (B, k): ranked by the rerank weights' fit * cosine + match * similarity, so
        the examples are chosen the way Best fit chooses among their drafts; under bad news
        (`sad`) the kind replies first."""
        contexts = self.context_vectors(histories) if contexts is None else contexts
        similar = self.message_similarities(histories)
        bonus = None if similar is None else self.match_weight() * similar
        if sad is not None and any(sad) and self.kind is not None:
            kind = KIND_FIRST * np.asarray(sad, np.float32)[:, None] * self.kind[None, :]
            bonus = kind if bonus is None else bonus + kind
        index, _ = self.memory.search(contexts, k, bonus)
        if similar is None:
            return index, np.zeros(index.shape, np.float32)
        return index, np.take_along_axis(similar, index, 1)

    def message_similarities(self, histories: list[list[str]]) -> np.ndarray | None:
        """(B, N) how alike each history's last message is to the message each memory reply
        followed; None without a message index."""
        if self.matcher is None:
            return None
        return self.matcher.similarities([h[-1] if h else "" for h in histories])

    def match_weight(self) -> float:
        """The message match's weight on the scale of the scorer's cosine, as retrieval adds it."""
        return self.weights.match / (self.weights.fit or 1.0)

    @staticmethod
    def _bad_news(histories: list[list[str]]) -> list[bool]:
        """Whether each history's last message is sad or worse (chatbot.support)."""
        from chatbot.support import ORDINARY, classify

        return [bool(h) and classify(h[-1]) != ORDINARY for h in histories]

    def reply(self, history: list[str], options: DecodeOptions | None = None,
              explain: bool = False, avoid: list[str] | None = None) -> Reply:
        return self.reply_batch([history], options, explain, [avoid or []])[0]

    def reply_batch(self, histories: list[list[str]], options: DecodeOptions | None = None,
                    explain: bool = False, avoid: list[list[str]] | None = None,
                    timings: dict[str, float] | None = None,
                    seeds: list[int | None] | None = None) -> list[Reply]:
        """One decoder call for all histories: the way concurrent requests share the CPU.

        `avoid[b]` lists replies already given to history b ("regenerate"): the new reply may not
        start with any of their first pieces, so it differs in every mode. `seeds[b]` is history
        b's own seed (default: the options' one): its rows draw from it alone, so a reply comes
        out the same whichever batch it was written in. `timings`, when given, gains the
        milliseconds each stage took (bench.decode's profile).
        """
        if not histories:
            return []
        options = options or DecodeOptions()
        avoid = avoid or [[] for _ in histories]
        start = time.perf_counter()
        clock = _Clock(timings)
        n = options.candidates if options.mode == "rerank" else 1
        # Each conversation is read once by the scorer (where examples or the rerank need it)
        # and classified once by the support layer.
        needs_contexts = self.scorer is not None and (self.refines or options.mode == "rerank")
        contexts = self.context_vectors(histories) if needs_contexts else None
        clock.lap("context")
        sad = self._bad_news(histories)
        clock.lap("support")
        examples = self._examples(histories, n, contexts, sad)
        exemplars = [text for text, _ in examples]
        clock.lap("examples")
        repeated = [h for h in histories for _ in range(n)]
        source, ids = self.encode_histories(repeated, exemplars)
        banned = np.repeat(self._first_pieces(avoid), n, 0)
        seeds = [options.seed if s is None else s for s in seeds or [None] * len(histories)]
        gumbel = None if options.mode == "beam" else sampler_noise(options, seeds, n)
        clock.lap("source")
        if options.mode == "rerank":
            sampling = dataclasses.replace(options, mode="sample")
            out = self.decoder.run(source, sampling, banned, gumbel)
            candidates = [self._candidate(row) for row in out["tokens"]]
            clock.lap("drafts")
            rows, ranking = self._rerank(histories, candidates, n, out["logp"], examples,
                                         contexts, sad)
            clock.lap("rerank")
        else:
            out = self.decoder.run(source, options, banned, gumbel)
            candidates = [self._candidate(row) for row in out["tokens"]]
            rows, ranking = list(range(len(histories))), None
            clock.lap("drafts")
        confidences = self._confidences(source, candidates, rows, out.get("logp"))
        borrowed = self._borrowed(histories, rows, ranking, contexts) if options.borrow else {}
        clock.lap("confidence")
        latency = (time.perf_counter() - start) * 1000.0
        replies = []
        for b, (row, confidence) in enumerate(zip(rows, confidences)):
            own = dataclasses.replace(options, seed=seeds[b])
            if b in borrowed:
                replies.append(self._borrowed_reply(histories[b], borrowed[b], latency, own))
                continue
            cand = candidates[row]
            kept = cand.ids[: cand.keep]
            pieces = self.tokenizer.pieces(kept)
            explanation = None
            if explain:
                explanation = self._explain(ids[row], pieces, out["attention"][row],
                                            out["gates"][row])
                if ranking is not None:
                    explanation["candidates"] = self._scored(candidates, ranking, row, n)
            replies.append(Reply(self.tokenizer.decode(kept), pieces, latency, self.version,
                                 own.to_dict(), explanation, cand.finished, confidence,
                                 exemplar=exemplars[row]))
        clock.lap("reply")
        return replies

    def _borrowed(self, histories, rows: list[int], ranking: dict | None,
                  contexts: np.ndarray | None) -> dict[int, dict]:
        """{history: the retrieved reply to show as it is}: where the best retrieved reply's fit
        beats the chosen draft's by more than the bundle's margin. Needs the scorer's fits."""
        if self.memory is None or ranking is None or ranking.get("fit") is None:
            return {}
        best = [r[0] for r in self._retrieved(histories, 1, contexts)]
        margin = self.weights.borrow_margin
        return {b: hit for b, (hit, row) in enumerate(zip(best, rows))
                if hit["fit"] > float(ranking["fit"][row]) + margin}

    def _borrowed_reply(self, history, hit: dict, latency: float, options) -> Reply:
        ids = self.tokenizer.encode(hit["text"])
        return Reply(hit["text"], self.tokenizer.pieces(ids), latency, self.version,
                     options.to_dict(), None, True, None, exemplar=hit["text"], borrowed=True)

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

    def explain(self, history: list[str], reply_text: str, candidates: int = 8,
                exemplar: str | None = None) -> dict:
        """The full explanation of a reply already given (teacher-forced, so exact for any stored
        reply, whichever search produced it): see `chatbot.explanation`. A retrieve-and-refine
        model is explained with the example, of the `candidates` best retrieved, under which the
        reply is likeliest (the one it was written from, unless two give it equal odds), or with
        `exemplar`, the one its record names."""
        target = self.tokenizer.encode(reply_text)[:MAX_PIECES] or [self.tokenizer.eos_id]
        if not self.refines:
            exemplar = None
        elif exemplar is None:
            options = self.exemplars([history], candidates)
            source, _ = self.encode_histories([history] * len(options), options)
            t_in, t_out = teacher_arrays([target] * len(options), [True] * len(options))
            exemplar = options[int(np.argmax(self.decoder.score(source, t_in, t_out).numpy()))]
        source, _ = self.encode_histories([history], [exemplar])
        out = self.decoder.force(source, np.asarray([target], np.int32))
        row = {name: value.numpy()[0] for name, value in out.items()}
        return explanation.build(self.tokenizer, history, self.config.context_turns,
                                 self.config.max_src_len, self.tokenizer.pieces(target), row,
                                 exemplar=exemplar, max_exemplar=self.config.max_exemplar_len,
                                 source_ids=source[0], copies=self.config.copy)

    def score(self, histories: list[list[str]], replies: list[str]) -> dict[str, np.ndarray]:
        """Each reply's terms of the rerank score and the score itself, for evaluation: forward
        and backward log-likelihood, length in pieces, the scorer's fit (None without a scorer),
        log p(reply | empty context) in full ("prior", for PMI) and over its first pieces."""
        source, _ = self.encode_histories(histories)
        cap = self.config.max_tgt_len - 1
        cands = []
        for text in replies:
            ids = self.tokenizer.encode(text)
            cands.append(Candidate(ids[:cap], len(ids) <= cap, min(len(ids), cap)))
        forward, backward = self._likelihoods(histories, source, cands)
        lengths = np.array([c.keep for c in cands])
        fit = self.fit(histories, [c.ids[: c.keep] for c in cands])
        head = self._prior(cands, PRIOR_PIECES)
        return {"forward": forward, "backward": backward, "length": lengths, "fit": fit,
                "prior": self._prior(cands), "prior_head": head,
                "rerank": self.weights.combine(forward, backward, lengths, fit, head)}

    # -- relevance: the scorer and its memory ---------------------------------------------------

    def fit(self, histories: list[list[str]], replies: list[list[int]],
            contexts: np.ndarray | None = None, vectors: np.ndarray | None = None) -> np.ndarray | None:
        """The scorer's cosine of each (history, reply ids) pair; None without a scorer. Each
        distinct history is encoded once, unless `contexts` gives each row's vector already;
        `vectors`, the replies' own, when they are encoded already."""
        if self.scorer is None:
            return None
        vectors = self.scorer.replies(replies) if vectors is None else vectors
        if contexts is not None:
            return np.sum(contexts * vectors, -1)
        keys = [tuple(h) for h in histories]
        unique = list(dict.fromkeys(keys))
        contexts = self.context_vectors([list(k) for k in unique])
        where = {k: i for i, k in enumerate(unique)}
        rows = contexts[[where[k] for k in keys]]
        return np.sum(rows * vectors, -1)

    def context_vectors(self, histories: list[list[str]]) -> np.ndarray:
        cfg = self.scorer.cfg
        return self.scorer.contexts([self.tokenizer.encode_context(h, cfg.context_turns,
                                                                   cfg.max_src_len)
                                     for h in histories])

    def retrieve(self, history: list[str], k: int = 8) -> list[dict]:
        """The k replies of the memory that best fit the conversation, best first: {text, fit},
        fit being the scorer's cosine. Empty without a scorer and memory."""
        return self._retrieved([history], k)[0]

    def _retrieved(self, histories: list[list[str]], k: int, contexts: np.ndarray | None = None
                   ) -> list[list[dict]]:
        if self.memory is None or not len(self.memory):
            return [[] for _ in histories]
        contexts = self.context_vectors(histories) if contexts is None else contexts
        index, _ = self._search(histories, k, contexts)
        fits = np.einsum("bd,bkd->bk", contexts, self.memory.vectors[index])
        return [[{"text": self.memory.texts[i], "fit": round(float(f), 4)} for i, f in zip(row, fit)]
                for row, fit in zip(index, fits)]

    def _prior(self, cands: list[Candidate], pieces: int | None = None) -> np.ndarray:
        """log p(reply | empty context): the forward model's prior for a reply (over its first
        `pieces` pieces only, when given), the generic part that MMI-antiLM subtracts."""
        kept = [c.ids[: c.keep] for c in cands]
        heads = [k[:pieces] if pieces else k for k in kept]
        ended = [c.finished and len(h) == len(k) for c, h, k in zip(cands, heads, kept)]
        t_in, t_out = teacher_arrays(heads, ended)
        empty = np.full((len(cands), 1), self.tokenizer.unk_id, np.int32)
        return self.decoder.score(empty, t_in, t_out).numpy()

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

    def _rerank(self, histories, candidates: list[Candidate], n: int, logp: np.ndarray,
                examples: list[tuple[str | None, float]] | None = None,
                contexts: np.ndarray | None = None, sad: list[bool] | None = None
                ) -> tuple[list[int], dict]:
        """The row of the best of each history's n candidates, and per candidate its score, fit
        and whether it was passed over as cheerful under bad news: finished ones first (a
        trimmed reply is a fallback), never a cheerful one to bad news unless all are, then by
        the rerank score.
        `logp` (B*n, L): the sampler's log p of each generated piece, so a forward score is a
        sum; `examples`: each candidate's example and its message similarity. A term whose
        weight is zero is not computed."""
        repeated = [h for h in histories for _ in range(n)]
        examples = examples or [(None, 0.0)] * len(candidates)
        sad = self._bad_news(histories) if sad is None else sad
        recorded = np.array([row[: c.keep + c.finished].sum() for row, c in zip(logp, candidates)])
        weights = self.weights
        if weights.backward:
            forward, backward = self._likelihoods(repeated, None, candidates, recorded)
        else:
            forward, backward = recorded, None
        lengths = np.array([c.keep for c in candidates])
        rows_contexts = None if contexts is None else np.repeat(contexts, n, 0)
        kept = [c.ids[: c.keep] for c in candidates]
        vectors = self.scorer.replies(kept) if self.scorer is not None else None
        fit = self.fit(repeated, kept, rows_contexts, vectors)
        prior = self._prior(candidates, PRIOR_PIECES) if weights.prior else None
        match = np.array([m for _, m in examples])
        agreed = agreement(vectors, n) if vectors is not None and weights.consensus else None
        score = weights.combine(forward, backward, lengths, fit if weights.fit else None, prior,
                                match if weights.match else None, agreed)
        unfinished = np.array([not (c.finished and c.keep > 0) for c in candidates], float)
        cheerful = self._cheerful_under_bad_news(sad, candidates, n)
        stutter = np.array([repeats_a_word(self.tokenizer.decode(c.ids[: c.keep]))
                            for c in candidates], float)
        ranked = score - UNFINISHED * unfinished - CHEERFUL * cheerful - REPEATED * stutter
        rows = [b * n + int(np.argmax(ranked[b * n:(b + 1) * n])) for b in range(len(histories))]
        return rows, {"score": score, "fit": fit, "cheerful": cheerful, "stutter": stutter,
                      "exemplars": [text for text, _ in examples]}

    def _cheerful_under_bad_news(self, sad: list[bool], candidates: list[Candidate], n: int
                                 ) -> np.ndarray:
        """1 for each candidate that is cheerful in answer to bad news ("that's awesome!" to "my
        dog died"), else 0: the message is sad or worse by chatbot.support (`sad`), the reply
        cheerful by chatbot.sentiment."""
        from chatbot.sentiment import is_cheerful

        out = np.zeros(len(candidates))
        for b, bad_news in enumerate(sad):
            if bad_news:
                for i in range(b * n, (b + 1) * n):
                    cand = candidates[i]
                    out[i] = is_cheerful(self.tokenizer.decode(cand.ids[: cand.keep]))
        return out

    def _scored(self, candidates: list[Candidate], ranking: dict, row: int, n: int) -> list[dict]:
        """The rerank candidates of the history whose reply is `row`, best first, each text once:
        what "Why this reply?" shows beside the reply that won."""
        first = row - row % n
        scores, fits, cheerful = ranking["score"], ranking["fit"], ranking["cheerful"]
        stutter, exemplars = ranking["stutter"], ranking["exemplars"]
        seen, out = set(), []
        for i in sorted(range(first, first + n), key=lambda i: -scores[i]):
            cand = candidates[i]
            text = self.tokenizer.decode(cand.ids[: cand.keep])
            if text and text not in seen:
                seen.add(text)
                fit = None if fits is None else round(float(fits[i]), 3)
                out.append({"text": text, "score": round(float(scores[i]), 3), "fit": fit,
                            "fit_label": None if fit is None else fit_label(fit),
                            "finished": cand.finished, "cheerful": bool(cheerful[i]),
                            "repeats": bool(stutter[i]), "exemplar": exemplars[i],
                            "chosen": i == row})
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
