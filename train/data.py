"""From (context, reply) text pairs to padded id batches for `Model.fit`.

Chat turns vary from 2 to 60 tokens; padding every batch to the longest possible turn wastes most
of each LSTM step. Batches are therefore bucketed by length: tf.data's `bucket_by_sequence_length`
under TensorFlow, and an equivalent numpy `PyDataset` under other Keras backends (JAX on a GPU
machine has no TensorFlow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from chatbot.config import ModelConfig
from chatbot.tokenizer import Tokenizer

BUCKETS = (8, 16, 24, 32, 48, 64)
TARGET_BUCKETS = (4, 6, 8, 11, 15, 20, 26)  # reply lengths that start a new tf.data bucket
COARSE_BUCKETS = (16, 32, 64)  # fewer shapes: each one is an XLA compilation under JAX


@dataclass
class Encoded:
    """Id sequences, unpadded: source, decoder input (bos + reply), decoder target (reply + eos)."""

    source: list[np.ndarray]
    target: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.source)

    def n_tokens(self) -> int:
        return sum(len(t) + 1 for t in self.target)


def encode_pairs(pairs, tokenizer: Tokenizer, config: ModelConfig) -> Encoded:
    sources, targets = [], []
    for context, reply in pairs:
        src = tokenizer.encode_context(context, config.context_turns, config.max_src_len)
        tgt = tokenizer.encode(reply)[: config.max_tgt_len - 1]
        if tgt:
            sources.append(np.asarray(src, np.int32))
            targets.append(np.asarray(tgt, np.int32))
    return Encoded(sources, targets)


def pad_batch(source, target, src_len: int, tgt_len: int):
    """Right-pad a batch: ((source, target_in), target_out) as int32 arrays."""
    n = len(source)
    src = np.zeros((n, src_len), np.int32)
    t_in = np.zeros((n, tgt_len), np.int32)
    t_out = np.zeros((n, tgt_len), np.int32)
    for i, (s, t) in enumerate(zip(source, target)):
        s, t = s[:src_len], t[: tgt_len - 1]
        src[i, : len(s)] = s
        t_in[i, : len(t) + 1] = np.concatenate([[Tokenizer.bos_id], t])
        t_out[i, : len(t) + 1] = np.concatenate([t, [Tokenizer.eos_id]])
    return (src, t_in), t_out


def tf_dataset(data: Encoded, config: ModelConfig, batch_size: int, bucketing: bool = True,
               shuffle: bool = True, seed: int = 0):
    """tf.data pipeline: shuffle, length buckets (or full padding), prefetch."""
    import tensorflow as tf

    def gen():
        for s, t in zip(data.source, data.target):
            yield s, np.concatenate([[Tokenizer.bos_id], t]), np.concatenate([t, [Tokenizer.eos_id]])

    spec = tf.TensorSpec([None], tf.int32)
    ds = tf.data.Dataset.from_generator(gen, output_signature=(spec, spec, spec))
    ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(len(data), 50_000), seed=seed, reshuffle_each_iteration=True)
    if bucketing:
        # Bucket by reply length: with three turns of context most sources fill max_src_len
        # anyway, while the decoder and its V-way softmax, the costliest part, scale with the
        # reply. Each batch is padded only to its own longest pair.
        boundaries = [b + 1 for b in TARGET_BUCKETS if b < config.max_tgt_len]
        ds = ds.bucket_by_sequence_length(
            lambda s, ti, to: tf.shape(ti)[0],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        )
    else:
        ds = ds.padded_batch(batch_size, padded_shapes=(
            [config.max_src_len], [config.max_tgt_len], [config.max_tgt_len]))
    ds = ds.map(lambda s, ti, to: ((s, ti), to), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


class BucketedBatches(keras.utils.PyDataset):
    """Backend-neutral batches: pairs sorted into length buckets, each padded to its bucket's edge.

    Padding to fixed edges keeps the number of distinct shapes small, which matters under JAX,
    where every new shape is a new compilation.
    """

    def __init__(self, data: Encoded, config: ModelConfig, batch_size: int, seed: int = 0,
                 shuffle: bool = True, edges=COARSE_BUCKETS, **kwargs):
        super().__init__(**kwargs)
        self.data, self.config, self.batch_size = data, config, batch_size
        self.rng = np.random.default_rng(seed)
        self.shuffle = shuffle
        self.edges = [b for b in edges if b < config.max_src_len] + [config.max_src_len]
        self.buckets: dict[int, list[int]] = {}
        for i, (s, t) in enumerate(zip(data.source, data.target)):
            edge = next(e for e in self.edges if max(len(s), len(t) + 1) <= e or
                        e == self.edges[-1])
            self.buckets.setdefault(edge, []).append(i)
        self.batches: list[tuple[int, np.ndarray]] = []
        self.on_epoch_end()

    def on_epoch_end(self):
        batches = []
        for edge, idx in self.buckets.items():
            idx = np.array(idx)
            if self.shuffle:
                self.rng.shuffle(idx)
            for start in range(0, len(idx), self.batch_size):
                batches.append((edge, idx[start:start + self.batch_size]))
        if self.shuffle:
            self.rng.shuffle(batches)
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        edge, idx = self.batches[i]
        tgt_len = min(edge, self.config.max_tgt_len)
        return pad_batch([self.data.source[j] for j in idx], [self.data.target[j] for j in idx],
                         edge, tgt_len)


def steps(data: Encoded, batch_size: int) -> int:
    return math.ceil(len(data) / batch_size)
