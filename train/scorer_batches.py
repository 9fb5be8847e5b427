"""The (context, reply) batches train.train_scorer fits the scorer on."""

from __future__ import annotations

import keras
import numpy as np

POOL_BATCHES = 50  # batches sorted by length together: little padding, still shuffled


def pad(rows: list[np.ndarray]) -> np.ndarray:
    width = -(-max(len(r) for r in rows) // 8) * 8  # a multiple of 8: few shapes to trace
    out = np.zeros((len(rows), width), np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


class PairBatches(keras.utils.PyDataset):
    """Fixed-size batches of (context, reply) ids; pools of batches sorted by context length, so
    a batch pads little, and batch order shuffled each epoch."""

    def __init__(self, contexts, replies, batch_size: int, seed: int, shuffle: bool):
        super().__init__()
        self.contexts, self.replies = contexts, replies
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.plan()

    def plan(self) -> None:
        n = len(self.contexts)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        pool = self.batch_size * POOL_BATCHES
        batches = []
        for start in range(0, n, pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort([len(self.contexts[i]) for i in chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
                        if len(chunk[i:i + self.batch_size]) >= 2]
        if self.shuffle:
            self.rng.shuffle(batches)
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        rows = self.batches[index]
        x = (pad([self.contexts[i] for i in rows]), pad([self.replies[i] for i in rows]))
        return x, np.zeros((len(rows),), np.int32)  # no labels: the diagonal is the answer

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.plan()
