"""Choosing among sampled replies by relevance.

A forward model alone prefers the replies that are likely after anything ("haha", "me too").
Each candidate T for a context S is scored by

    log p(T | S) + lambda * log p(S | T) + gamma * |T| + phi * fit(S, T) - mu * log p(T_1..k | .)
        + rho * match(S, T) + kappa * agreement(T)

- p(S | T), a backward model trained on reversed pairs, asks how well the reply accounts for what
  was said (MMI-bidi, Li et al., 2016);
- gamma (per piece) offsets the forward model's bias toward short replies;
- fit(S, T) is the relevance scorer's cosine (chatbot.scorer), trained to tell the true reply
  from others, which no likelihood does;
- log p(T_1..k | .) is the forward model's own likelihood of the reply's first k pieces after an
  empty context: subtracting it (MMI-antiLM, Li et al., 2016) removes the generic prior, and
  counting only the first pieces is their guard against rewarding ungrammatical endings;
- match(S, T), for a draft written from a retrieved example, is how alike the visitor's message
  is to the message that example once followed (chatbot.message_match): the retrieval bot's
  signal beside the scorer's. The examples themselves are chosen by phi * fit + rho * match;
- agreement(T) is the mean cosine, in the scorer's reply space, of T to the other drafts for the
  same message: minimum Bayes risk over the drafts (Kumar and Byrne, 2004), which prefers the
  reply most of them agree on to one that stands alone.

Terms whose model the bundle lacks count zero. The weights are chosen on the validation split
by `train.rerank` and stored in the bundle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from chatbot.tokenizer import Tokenizer

PRIOR_PIECES = 4  # the anti-LM term counts a reply's first pieces only (Li et al.'s guard)


@dataclass(frozen=True)
class RerankWeights:
    backward: float = 0.5  # lambda
    length: float = 0.5  # gamma, per piece
    fit: float = 0.0  # phi, on the scorer's cosine
    prior: float = 0.0  # mu, on log p(first PRIOR_PIECES pieces | empty context)
    # With "borrow" on, a retrieved reply is shown as it is when its fit beats the best draft's
    # by more than this (docs/benchmarks.md: how it was chosen on the validation split).
    borrow_margin: float = 0.1
    match: float = 0.0  # rho, on the example's message similarity (0: no message index is built)
    consensus: float = 0.0  # kappa, on a draft's agreement with the other drafts

    @classmethod
    def load(cls, path: str | Path) -> "RerankWeights":
        data = json.loads(Path(path).read_text())
        return cls(float(data["backward"]), float(data["length"]), float(data.get("fit", 0.0)),
                   float(data.get("prior", 0.0)), float(data.get("borrow_margin", 0.1)),
                   float(data.get("match", 0.0)), float(data.get("consensus", 0.0)))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    def combine(self, forward, backward, lengths, fit=None, prior=None, match=None,
                agreement=None) -> np.ndarray:
        """The score of each candidate from its terms (arrays of equal shape; None = absent)."""
        total = np.asarray(forward, np.float64) + self.length * np.asarray(lengths, np.float64)
        if backward is not None:
            total = total + self.backward * np.asarray(backward, np.float64)
        if fit is not None:
            total = total + self.fit * np.asarray(fit, np.float64)
        if prior is not None:
            total = total - self.prior * np.asarray(prior, np.float64)
        if match is not None:
            total = total + self.match * np.asarray(match, np.float64)
        if agreement is not None:
            total = total + self.consensus * np.asarray(agreement, np.float64)
        return total


def agreement(vectors: np.ndarray, n: int) -> np.ndarray:
    """Each of B groups of n reply vectors (B*n, D): the mean cosine of each to the other n - 1
    of its group (0 when n is 1)."""
    v = np.asarray(vectors, np.float64).reshape(-1, n, vectors.shape[-1])
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    sims = np.einsum("bid,bjd->bij", v, v)
    others = sims.sum(-1) - np.einsum("bii->bi", sims)
    return (others / max(1, n - 1)).reshape(-1)


def teacher_arrays(targets: list[list[int]], ended: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Decoder input (bos + ids) and labels (ids + eos, or + padding for a reply that did not end)
    for scoring given replies; right-padded to the longest."""
    width = max(len(t) for t in targets) + 1
    t_in = np.zeros((len(targets), width), np.int32)
    t_out = np.zeros((len(targets), width), np.int32)
    for row, (ids, end) in enumerate(zip(targets, ended)):
        t_in[row, : len(ids) + 1] = [Tokenizer.bos_id, *ids]
        t_out[row, : len(ids) + 1] = [*ids, Tokenizer.eos_id if end else Tokenizer.pad_id]
    return t_in, t_out


def source_array(rows: list[list[int]]) -> np.ndarray:
    """Right-padded encoder input; an empty row reads as one unknown piece."""
    rows = [r or [Tokenizer.unk_id] for r in rows]
    out = np.zeros((len(rows), max(len(r) for r in rows)), np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out
