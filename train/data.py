"""From (context, reply) text pairs to padded id batches for `Model.fit`.

Padding every batch to the longest possible pair wastes over a third of the multiply-adds on this
corpus: replies run from 2 to 32 tokens and contexts from 5 to 64, many well short of the cap. A
pair has two lengths, so one length key (tf.data's `bucket_by_sequence_length`) leaves one side
padded; grouping by both into fixed classes leaves many part-filled batches on small corpora.
Instead, as in torchtext's pooled BucketIterator and fairseq's `--max-tokens`, `plan_batches` sorts
pools of shuffled pairs by (context length class, reply length) and cuts each pool into batches of
equal compute: short pairs travel in larger batches, so every step costs about what one full-length
batch of `batch_size` pairs would. Reply lengths rise in one context class and fall in the next, so
the batch that straddles two classes holds the long replies of both (or the short ones), not the
longest of one and the shortest of the other. The batches then feed a tf.data pipeline (shuffled
per epoch, prefetched) under TensorFlow, or a numpy `PyDataset` under other backends (JAX on a GPU
machine has no TensorFlow), padded there to a few fixed edges, since each new shape is an XLA
compile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import keras
import numpy as np

from chatbot.config import ModelConfig
from chatbot.tokenizer import Tokenizer

POOL_BATCHES = 100  # pairs sorted together: enough to group lengths, few enough to stay shuffled
SOURCE_CLASS = 16  # contexts within 16 tokens of each other share a batch
MAX_GROWTH = 4  # short batches hold at most this many times batch_size pairs
COARSE_EDGES = (16, 32, 64)  # padded lengths under JAX: few shapes, few compilations


@dataclass
class Encoded:
    """Id sequences, unpadded: source and reply. `ended[i]` is false where the reply was cut with no
    sentence or message boundary under the cap: its last label is padding (not trained), not eos,
    so the model never learns to stop mid-sentence."""

    source: list[np.ndarray]
    target: list[np.ndarray]
    ended: list[bool] | None = None

    def __len__(self) -> int:
        return len(self.source)

    def n_tokens(self) -> int:
        return sum(len(t) + 1 for t in self.target)

    def lengths(self) -> tuple[np.ndarray, np.ndarray]:
        """Unpadded lengths of each source and each decoder sequence (reply + eos)."""
        return (np.array([len(s) for s in self.source], np.int64),
                np.array([len(t) + 1 for t in self.target], np.int64))


# A reply is cut after a sentence end or at a message boundary (newline, see train.corpora).
BOUNDARY = re.compile(r"(?<=[.!?])\s+|\n")


def cut_reply(reply: str, tokenizer: Tokenizer, limit: int) -> tuple[list[int], bool]:
    """The reply's ids within `limit` and whether they end the reply.

    A reply over the cap keeps its longest run of whole sentences or messages that fits; one with
    no such boundary is cut at the cap and marked unended, instead of getting an end-of-reply
    label in mid-sentence (which the model learns: it then stops replies at exactly the cap).
    """
    ids = tokenizer.encode(reply)
    if len(ids) <= limit:
        return ids, True
    ends = [m.start() for m in BOUNDARY.finditer(reply)]
    for end in reversed(ends):
        head = tokenizer.encode(reply[:end])
        if head and len(head) <= limit:
            return head, True
    return ids[:limit], False


def encode_pairs(pairs, tokenizer: Tokenizer, config: ModelConfig, exemplars=None) -> Encoded:
    """`exemplars[i]`, for a retrieve-and-refine model: the example reply pair i reads first
    (None: no example; see train.exemplars)."""
    sources, targets, ended = [], [], []
    exemplars = exemplars if exemplars is not None else [None] * len(pairs)
    for (context, reply), exemplar in zip(pairs, exemplars):
        src = tokenizer.encode_source(context, exemplar, config.context_turns, config.max_src_len,
                                      config.max_exemplar_len)
        tgt, end = cut_reply(reply, tokenizer, config.max_tgt_len - 1)
        if tgt:
            sources.append(np.asarray(src, np.int32))
            targets.append(np.asarray(tgt, np.int32))
            ended.append(end)
    return Encoded(sources, targets, ended)


def pad_batch(source, target, src_len: int, tgt_len: int, ended=None):
    """Right-pad a batch: ((source, target_in), target_out) as int32 arrays; an unended reply's
    last label is padding, which the loss ignores."""
    n = len(source)
    src = np.zeros((n, src_len), np.int32)
    t_in = np.zeros((n, tgt_len), np.int32)
    t_out = np.zeros((n, tgt_len), np.int32)
    for i, (s, t) in enumerate(zip(source, target)):
        s, t = s[:src_len], t[: tgt_len - 1]
        last = Tokenizer.eos_id if ended is None or ended[i] else Tokenizer.pad_id
        src[i, : len(s)] = s
        t_in[i, : len(t) + 1] = np.concatenate([[Tokenizer.bos_id], t])
        t_out[i, : len(t) + 1] = np.concatenate([t, [last]])
    return (src, t_in), t_out


def token_costs(config: ModelConfig) -> tuple[float, float]:
    """Multiply-adds per source token and per reply token in a forward pass.

    A reply token costs two to three times a context token (decoder LSTM, attention output and
    the V-way softmax against one encoder step: 3.0x with the default 8000-piece vocabulary), so
    batches are sized by this, not by raw length.
    """
    u, e, d, v = config.enc_units, config.embed_dim, config.dec_units, config.vocab_size
    src = sum(2 * 4 * u * ((e if i == 0 else 2 * u) + u) for i in range(config.enc_layers))
    tgt = 4 * d * (e + d) + (e * e if config.tie_embeddings else 0) + e * v
    if config.arch == "attention":
        src += d * d  # keys = values W_a
        tgt += 2 * d * e + 2 * d * config.max_source_len // 2  # W_c, scores and context
    else:
        tgt += d * e
    return float(src), float(tgt)


def plan_batches(data: Encoded, config: ModelConfig, batch_size: int, rng: np.random.Generator,
                 shuffle: bool = True, equal_cost: bool = True) -> list[np.ndarray]:
    """Index batches of pairs of similar length; see the module docstring.

    With `equal_cost` a batch grows while its padded cost stays within that of `batch_size`
    full-length pairs (at most MAX_GROWTH times as many pairs); without it every batch has
    `batch_size` pairs, for backends that compile each batch shape.
    """
    src_len, tgt_len = data.lengths()
    w_src, w_tgt = token_costs(config)
    budget = batch_size * (w_src * config.max_source_len + w_tgt * config.max_tgt_len)
    order = rng.permutation(len(data)) if shuffle else np.arange(len(data))
    pool_size = POOL_BATCHES * batch_size
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool_size):
        pool = order[start:start + pool_size]
        source_class = (src_len[pool] - 1) // SOURCE_CLASS
        reply_key = np.where(source_class % 2, -tgt_len[pool], tgt_len[pool])
        pool = pool[np.lexsort((reply_key, source_class))]
        if not equal_cost:
            batches += [pool[i:i + batch_size] for i in range(0, len(pool), batch_size)]
            continue
        first, longest_src, longest_tgt = 0, 0, 0
        for i, j in enumerate(pool):
            s, t = max(longest_src, src_len[j]), max(longest_tgt, tgt_len[j])
            n = i - first + 1
            if n > 1 and (n * (w_src * s + w_tgt * t) > budget or n > MAX_GROWTH * batch_size):
                batches.append(pool[first:i])
                first, s, t = i, src_len[j], tgt_len[j]
            longest_src, longest_tgt = s, t
        batches.append(pool[first:])
    if shuffle:
        rng.shuffle(batches)
    return batches


def tf_dataset(data: Encoded, config: ModelConfig, batch_size: int, bucketing: bool = True,
               shuffle: bool = True, seed: int = 0, equal_cost: bool = True):
    """tf.data pipeline: length-planned batches (or full padding), reshuffled each epoch, prefetched."""
    import tensorflow as tf

    if not bucketing:
        def pairs():
            for i, (s, t) in enumerate(zip(data.source, data.target)):
                last = Tokenizer.eos_id if data.ended is None or data.ended[i] else Tokenizer.pad_id
                yield s, np.concatenate([[Tokenizer.bos_id], t]), np.concatenate([t, [last]])

        spec = tf.TensorSpec([None], tf.int32)
        ds = tf.data.Dataset.from_generator(pairs, output_signature=(spec, spec, spec)).cache()
        if shuffle:
            ds = ds.shuffle(min(len(data), 50_000), seed=seed, reshuffle_each_iteration=True)
        ds = ds.padded_batch(batch_size, padded_shapes=(
            [config.max_source_len], [config.max_tgt_len], [config.max_tgt_len]))
        ds = ds.map(lambda s, ti, to: ((s, ti), to), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    rng = np.random.default_rng(seed)  # advances every epoch: a new shuffle and a new plan

    def planned():
        for idx in plan_batches(data, config, batch_size, rng, shuffle, equal_cost):
            source = [data.source[j] for j in idx]
            target = [data.target[j] for j in idx]
            ended = None if data.ended is None else [data.ended[j] for j in idx]
            yield pad_batch(source, target, max(map(len, source)), max(map(len, target)) + 1, ended)

    matrix = tf.TensorSpec([None, None], tf.int32)
    ds = tf.data.Dataset.from_generator(planned, output_signature=((matrix, matrix), matrix))
    return ds.prefetch(tf.data.AUTOTUNE)


def _edge(length: int, limit: int) -> int:
    return min(next((e for e in COARSE_EDGES if length <= e), limit), limit)


class BucketedBatches(keras.utils.PyDataset):
    """Backend-neutral batches: the same plan with `batch_size` pairs each, padded to coarse edges."""

    def __init__(self, data: Encoded, config: ModelConfig, batch_size: int, seed: int = 0,
                 shuffle: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.data, self.config, self.batch_size = data, config, batch_size
        self.rng = np.random.default_rng(seed)
        self.shuffle = shuffle
        self.batches: list[np.ndarray] = []
        self.on_epoch_end()

    def on_epoch_end(self):
        self.batches = plan_batches(self.data, self.config, self.batch_size, self.rng,
                                    shuffle=self.shuffle, equal_cost=False)

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        idx = self.batches[i]
        source = [self.data.source[j] for j in idx]
        target = [self.data.target[j] for j in idx]
        ended = None if self.data.ended is None else [self.data.ended[j] for j in idx]
        src_len = _edge(max(map(len, source)), self.config.max_source_len)
        tgt_len = _edge(max(map(len, target)) + 1, self.config.max_tgt_len)
        return pad_batch(source, target, src_len, tgt_len, ended)
