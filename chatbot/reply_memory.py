"""A memory of replies: every distinct reply of a bundle's training split, as scorer vectors.

Finding the replies that best fit a context is one matrix product of its context vector with
the memory's (N, dim) reply vectors and a partial sort: about 1 ms for 100k replies on two cores
(bench.decode reports it). Brute force is exact and needs no index; past a few million replies an
approximate index (FAISS, or pgvector beside the conversations) is the path, since the product
grows linearly with N.

On disk (memory.npz in the bundle) the vectors are int8 with one float scale per row, a quarter
of float32 and no loss that changes which replies rank first; the texts are one UTF-8 blob split
at NUL bytes, so loading needs no pickle. A memory may also keep the message each reply followed
(`messages`, the same way), which `chatbot.message_match` compares with the visitor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class ReplyMemory:
    texts: list[str]
    vectors: np.ndarray  # (N, dim) float32, unit rows
    messages: list[str] | None = None  # the message each reply followed, where it was kept

    def __len__(self) -> int:
        return len(self.texts)

    def search(self, queries: np.ndarray, k: int, bonus: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """queries (B, dim) -> the indices (B, k) of the k best-scoring replies, best first, and
        their scores (B, k): the cosine, plus `bonus` (B, N) where given."""
        k = min(k, len(self.texts))
        scores = np.asarray(queries, np.float32) @ self.vectors.T  # (B, N)
        if bonus is not None:
            scores = scores + bonus
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, 1)
        order = np.argsort(-top_scores, axis=1)
        return np.take_along_axis(top, order, 1), np.take_along_axis(top_scores, order, 1)

    def save(self, path: str | Path) -> None:
        scale = np.maximum(np.abs(self.vectors).max(axis=1, keepdims=True), 1e-8) / 127.0
        quantized = np.round(self.vectors / scale).astype(np.int8)
        extra = {} if self.messages is None else {"messages": _blob(self.messages)}
        np.savez_compressed(path, vectors=quantized, scale=scale.astype(np.float32),
                            texts=_blob(self.texts), **extra)

    @classmethod
    def load(cls, path: str | Path) -> "ReplyMemory":
        with np.load(path, allow_pickle=False) as data:
            vectors = data["vectors"].astype(np.float32) * data["scale"]
            texts = _texts(data["texts"])
            messages = _texts(data["messages"]) if "messages" in data.files else None
        if len(texts) != len(vectors):
            raise ValueError(f"{path}: {len(texts)} texts for {len(vectors)} vectors")
        if messages is not None and len(messages) != len(texts):
            raise ValueError(f"{path}: {len(messages)} messages for {len(texts)} replies")
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-8)
        return cls(texts, vectors, messages)


def _blob(texts: list[str]) -> np.ndarray:
    return np.frombuffer("\0".join(texts).encode("utf-8"), np.uint8)


def _texts(blob: np.ndarray) -> list[str]:
    return blob.tobytes().decode("utf-8").split("\0")


def text_key(text: str) -> str:
    """What makes two texts the same reply: lower-cased, without punctuation or extra spaces."""
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())


def distinct_replies(pairs, tokenizer, max_pieces: int) -> list[tuple[str, str]]:
    """Each reply of the (context, reply) pairs once, with the last message it first followed,
    in first-seen order, at most `max_pieces` long: what the generator could have written."""
    seen, out = set(), []
    for context, text in pairs:
        key = text_key(text)
        message = " ".join(context[-1].split()) if context else ""
        if key and key not in seen and "\0" not in text + message:
            ids = tokenizer.encode(text)
            if 0 < len(ids) <= max_pieces:
                seen.add(key)
                out.append((" ".join(text.split()), message))
    return out


def build_memory(scorer, tokenizer, texts: list[str],
                 messages: list[str] | None = None) -> ReplyMemory:
    """Encode every text with the scorer's reply encoder (a chatbot.scorer.CompiledScorer)."""
    return ReplyMemory(texts, scorer.replies([tokenizer.encode(t) for t in texts]), messages)
