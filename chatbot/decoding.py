"""Search strategies over `Seq2Seq.decode_step`, each compiled once as a tf.function.

Every function has a fixed `input_signature` (batch and source length are `None`), so a new
request never retraces: the graph is built on the first call and reused. The encoder runs once per
request; each loop iteration is one call of the explicit LSTM step.

- greedy and sampling share one loop (temperature 0 means argmax), with top-k / nucleus (top-p)
  filtering (Holtzman et al., 2019) and a stateless seed for reproducible samples;
- beam search ranks hypotheses by the GNMT length penalty lp(Y) = ((5 + |Y|) / 6) ** alpha
  (Wu et al., 2016);
- both block repeated n-grams, the standard remedy for seq2seq loops ("i'm good i'm good ...").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from chatbot.config import ConfigError, replace_checked
from chatbot.model import Memory
from chatbot.tokenizer import Tokenizer

NEG_INF = -1e9
MODES = ("greedy", "beam", "sample")
CANDIDATES = 64  # sampling looks at most at this many likeliest tokens


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
    """How to pick reply tokens; the defaults are what the web app uses."""

    mode: str = "sample"
    beam_width: int = 4
    length_penalty: float = 0.6
    no_repeat_ngram: int = 3
    min_len: int = 2
    max_len: int = 24
    temperature: float = 0.7
    top_k: int = 0
    top_p: float = 0.9
    repetition_penalty: float = 1.0
    seed: int | None = None

    def validate(self) -> None:
        checks = [
            (self.mode in MODES, f"mode must be one of {', '.join(MODES)}"),
            (1 <= self.beam_width <= 8, "beam_width must be between 1 and 8"),
            (0.0 <= self.length_penalty <= 2.0, "length_penalty must be between 0 and 2"),
            (0 <= self.no_repeat_ngram <= 6, "no_repeat_ngram must be between 0 and 6"),
            (1 <= self.max_len <= 64, "max_len must be between 1 and 64"),
            (0 <= self.min_len <= self.max_len, "min_len must be between 0 and max_len"),
            (0.0 <= self.temperature <= 5.0, "temperature must be between 0 and 5"),
            (0 <= self.top_k <= CANDIDATES, f"top_k must be between 0 and {CANDIDATES}"),
            (0.0 < self.top_p <= 1.0, "top_p must be in (0, 1]"),
            (1.0 <= self.repetition_penalty <= 3.0, "repetition_penalty must be between 1 and 3"),
            (self.seed is None or 0 <= self.seed < 2**31, "seed must be a non-negative int"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "DecodeOptions":
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError("options must be an object")
        data = dict(data)
        if data.get("seed") is not None:
            data["seed"] = _int_value(data["seed"], "seed")
        options = replace_checked(cls(), {k: v for k, v in data.items() if k != "seed"})
        options = dataclasses.replace(options, seed=data.get("seed"))
        options.validate()
        return options

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _int_value(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer") from exc


# -- shared pieces of the loops ---------------------------------------------------------------


def _mask_logits(logits, step, min_len, history, no_repeat_ngram, repetition_penalty, blank_id):
    """Forbid special tokens, an early end of reply (before min_len, or before any token that is
    more than a bare word boundary, so no reply reads as empty), and repeating any n-gram already
    generated; make any token already used less likely (Keskar et al., 2019: divide by the
    penalty)."""
    vocab = tf.shape(logits)[1]
    banned = tf.constant([Tokenizer.pad_id, Tokenizer.unk_id, Tokenizer.bos_id, Tokenizer.sep_id])
    special = tf.reduce_sum(tf.one_hot(banned, vocab), 0) > 0  # (V,)
    written = tf.range(tf.shape(history)[1])[None, :] < step
    has_text = tf.reduce_any(tf.logical_and(written, tf.not_equal(history, blank_id)), 1)  # (B,)
    too_early = tf.logical_or(step < min_len, tf.logical_not(has_text))
    eos = tf.one_hot(Tokenizer.eos_id, vocab) > 0
    forbidden = tf.logical_or(special[None, :], tf.logical_and(eos[None, :], too_early[:, None]))
    logits = tf.where(forbidden, NEG_INF, logits)
    logits = tf.cond(repetition_penalty > 1.0,
                     lambda: _penalize_repeats(logits, step, history, repetition_penalty),
                     lambda: logits)
    return _block_ngrams(logits, step, history, no_repeat_ngram)


def _penalize_repeats(logits, step, history, penalty):
    used = tf.broadcast_to(tf.range(tf.shape(history)[1])[None, :] < step, tf.shape(history))
    where = tf.where(used)  # (M, 2) of [batch, position]
    tokens = tf.cast(tf.gather_nd(history, where), tf.int64)
    indices = tf.stack([where[:, 0], tokens], 1)
    current = tf.gather_nd(logits, indices)
    return tf.tensor_scatter_nd_update(
        logits, indices, tf.where(current > 0, current / penalty, current * penalty))


def _block_ngrams(logits, step, history, n):
    """history (B, L) holds generated ids in columns [0, step); ban tokens that would repeat an n-gram."""

    def block():
        prefix_len = n - 1
        windows = step - prefix_len  # candidate n-gram start positions: 0 .. windows-1
        last = tf.shape(history)[1] - 1
        starts = tf.range(windows)
        match = tf.ones([tf.shape(history)[0], windows], tf.bool)
        for k in range(5):  # n <= 6; unrolled so the graph has no nested loop
            column = tf.gather(history, tf.minimum(starts + k, last), axis=1)  # (B, windows)
            wanted = tf.gather(history, tf.clip_by_value(windows + k, 0, step - 1), axis=1)
            same = tf.equal(column, wanted[:, None])
            match = tf.logical_and(match, tf.logical_or(same, k >= prefix_len))
        nxt = tf.gather(history, starts + prefix_len, axis=1)  # (B, windows)
        where = tf.where(match)  # (M, 2) of [batch, start]
        tokens = tf.gather_nd(nxt, where)
        indices = tf.stack([where[:, 0], tf.cast(tokens, tf.int64)], 1)
        updates = tf.fill([tf.shape(indices)[0]], tf.constant(NEG_INF, logits.dtype))
        return tf.tensor_scatter_nd_min(logits, indices, updates)

    return tf.cond(tf.logical_and(n > 0, step >= n), block, lambda: logits)


def _sample_tokens(logits, temperature, top_k, top_p, seed):
    """Draw one token per row from the top-k / nucleus (top-p) set of the tempered distribution.

    Only the CANDIDATES likeliest tokens are ever considered: a partial top-k is far cheaper than
    sorting the whole vocabulary twice a step, and past them the nucleus holds almost no mass.
    The nucleus is measured against the full softmax, so top_p keeps its meaning.
    """
    scaled = logits / temperature
    k = tf.minimum(CANDIDATES, tf.shape(scaled)[1])
    values, ids = tf.math.top_k(scaled, k=k)  # (B, k), best first
    probs = tf.exp(values - tf.reduce_logsumexp(scaled, -1, keepdims=True))
    before = tf.cumsum(probs, axis=-1, exclusive=True)  # mass of the better candidates
    rank = tf.range(k)[None, :]
    keep = tf.logical_and(rank < tf.where(top_k > 0, top_k, k), before < top_p)
    choice = tf.random.stateless_categorical(tf.where(keep, values, NEG_INF), 1, seed)[:, 0]
    return tf.gather(ids, tf.cast(choice, tf.int32), batch_dims=1)


def _gate_means(gates):
    return tf.stack([tf.reduce_mean(gates.input, -1), tf.reduce_mean(gates.forget, -1),
                     tf.reduce_mean(gates.output, -1)], -1)  # (B, 3)


class CompiledDecoder:
    """Greedy, sampling and beam search over one model, traced once each."""

    def __init__(self, model, blank_id: int = Tokenizer.unk_id):
        self.model = model
        self.blank_id = blank_id  # the tokenizer's bare "\u2581" piece, see _mask_logits
        self.sample = tf.function(self._sample, reduce_retracing=False, input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="source"),
            tf.TensorSpec([], tf.int32, name="max_len"),
            tf.TensorSpec([], tf.int32, name="min_len"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int32, name="top_k"),
            tf.TensorSpec([], tf.float32, name="top_p"),
            tf.TensorSpec([], tf.int32, name="no_repeat_ngram"),
            tf.TensorSpec([], tf.float32, name="repetition_penalty"),
            tf.TensorSpec([2], tf.int32, name="seed"),
        ])
        self.beam = tf.function(self._beam, input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="source"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
            tf.TensorSpec([], tf.int32, name="max_len"),
            tf.TensorSpec([], tf.int32, name="min_len"),
            tf.TensorSpec([], tf.float32, name="alpha"),
            tf.TensorSpec([], tf.int32, name="no_repeat_ngram"),
            tf.TensorSpec([], tf.float32, name="repetition_penalty"),
        ])

        self.force = tf.function(self._force, input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="source"),
            tf.TensorSpec([None, None], tf.int32, name="target"),
        ])

    def run(self, source, options: DecodeOptions):
        """source (B, S) int32 -> dict of numpy arrays: tokens (B, L), attention (B, L, S), gates (B, L, 3)."""
        source = tf.convert_to_tensor(source, tf.int32)
        if options.mode == "beam":
            out = self.beam(source, options.beam_width, options.max_len, options.min_len,
                            options.length_penalty, options.no_repeat_ngram,
                            options.repetition_penalty)
        else:
            temperature = 0.0 if options.mode == "greedy" else options.temperature
            seed = options.seed if options.seed is not None else int(tf.random.uniform(
                [], 0, 2**31 - 1, tf.int32))
            out = self.sample(source, options.max_len, options.min_len, temperature,
                              options.top_k, options.top_p, options.no_repeat_ngram,
                              options.repetition_penalty, [seed, 0])
        return {key: value.numpy() for key, value in out.items()}

    def trace_count(self) -> int:
        """How many graphs were traced (stays at one per strategy once warm)."""
        return (self.sample.experimental_get_tracing_count()
                + self.beam.experimental_get_tracing_count()
                + self.force.experimental_get_tracing_count())

    # -- greedy and sampling ----------------------------------------------------------------

    def _sample(self, source, max_len, min_len, temperature, top_k, top_p, no_repeat_ngram,
                repetition_penalty, seed):
        """Rows that have ended leave the batch: a batched request finishes at the pace of its
        replies, not of its longest one (replies run 2 to 24 tokens, so most steps would
        otherwise compute rows that are done). `rows` maps live rows to request rows."""
        memory, (h, c) = self.model.encode(source)
        values, keys, mask = memory
        batch, src_len = tf.shape(source)[0], tf.shape(source)[1]
        rows = tf.range(batch)
        token = tf.fill([batch], Tokenizer.bos_id)
        history = tf.zeros([batch, max_len], tf.int32)  # by request row; 0 (pad) after the end
        attention = tf.TensorArray(tf.float32, size=max_len)
        gates = tf.TensorArray(tf.float32, size=max_len)
        step = tf.constant(0)
        while step < max_len and tf.size(rows) > 0:
            tf.autograph.experimental.set_loop_options(shape_invariants=[
                (rows, tf.TensorShape([None])), (token, tf.TensorShape([None])),
                (h, tf.TensorShape([None, None])), (c, tf.TensorShape([None, None])),
                (values, tf.TensorShape([None, None, None])),
                (keys, tf.TensorShape([None, None, None])), (mask, tf.TensorShape([None, None])),
            ])
            logits, h, c, step_gates, weights = self.model.decode_step(
                token, h, c, Memory(values, keys, mask))
            logits = _mask_logits(tf.cast(logits, tf.float32), step, min_len,
                                  tf.gather(history, rows), no_repeat_ngram, repetition_penalty,
                                  self.blank_id)
            if temperature > 0.0:
                token = _sample_tokens(logits, temperature, top_k, top_p,
                                       tf.stack([seed[0], seed[1] + step]))
            else:
                token = tf.argmax(logits, -1, output_type=tf.int32)
            at = rows[:, None]
            history = tf.tensor_scatter_nd_update(
                history, tf.stack([rows, tf.fill(tf.shape(rows), step)], 1), token)
            attention = attention.write(step, tf.scatter_nd(
                at, tf.cast(weights, tf.float32), tf.stack([batch, src_len])))
            gates = gates.write(step, tf.scatter_nd(
                at, tf.cast(_gate_means(step_gates), tf.float32), tf.stack([batch, 3])))
            live = tf.not_equal(token, Tokenizer.eos_id)
            if not tf.reduce_all(live):
                keep = tf.where(live)[:, 0]
                rows, token, h, c = (tf.gather(t, keep) for t in (rows, token, h, c))
                values, keys, mask = (tf.gather(t, keep) for t in (values, keys, mask))
            step += 1
        return {
            "tokens": history[:, :step],
            "attention": tf.transpose(attention.stack()[:step], [1, 0, 2]),
            "gates": tf.transpose(gates.stack()[:step], [1, 0, 2]),
        }

    # -- teacher forcing: the explanation of a given reply -------------------------------

    def _force(self, source, target):
        """Step through a known reply (B, T) and record attention and gates at each token."""
        memory, (h, c) = self.model.encode(source)
        steps = tf.shape(target)[1]
        token = tf.fill([tf.shape(source)[0]], Tokenizer.bos_id)
        attention = tf.TensorArray(tf.float32, size=steps)
        gates = tf.TensorArray(tf.float32, size=steps)
        for step in tf.range(steps):
            _, h, c, step_gates, weights = self.model.decode_step(token, h, c, memory)
            attention = attention.write(step, tf.cast(weights, tf.float32))
            gates = gates.write(step, tf.cast(_gate_means(step_gates), tf.float32))
            token = target[:, step]
        return {
            "tokens": target,
            "attention": tf.transpose(attention.stack(), [1, 0, 2]),
            "gates": tf.transpose(gates.stack(), [1, 0, 2]),
        }

    # -- beam search ------------------------------------------------------------------------

    def _beam(self, source, beam_width, max_len, min_len, alpha, no_repeat_ngram,
              repetition_penalty):
        batch = tf.shape(source)[0]
        k = beam_width
        flat = batch * k
        memory, (h, c) = self.model.encode(source)
        memory = tf.nest.map_structure(lambda t: tf.repeat(t, k, axis=0), memory)
        h, c = tf.repeat(h, k, axis=0), tf.repeat(c, k, axis=0)
        src_len = tf.shape(source)[1]

        # Only the first beam of each request is live at the start, so the k beams differ.
        scores = tf.tile(tf.concat([[0.0], tf.fill([k - 1], NEG_INF)], 0)[None], [batch, 1])
        lengths = tf.zeros([batch, k], tf.int32)  # tokens generated before (and incl.) eos
        finished = tf.zeros([batch, k], tf.bool)
        history = tf.zeros([flat, max_len], tf.int32)
        attention = tf.zeros([flat, max_len, src_len])
        gates = tf.zeros([flat, max_len, 3])
        token = tf.fill([flat], Tokenizer.bos_id)
        positions = tf.range(max_len)[None, :]
        step = tf.constant(0)

        def penalty(length):
            return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)

        while step < max_len and not tf.reduce_all(finished):
            logits, h, c, step_gates, weights = self.model.decode_step(token, h, c, memory)
            logp = tf.nn.log_softmax(tf.cast(logits, tf.float32))
            logp = _mask_logits(logp, step, min_len, history, no_repeat_ngram, repetition_penalty,
                                self.blank_id)
            vocab = tf.shape(logp)[1]
            # A finished beam continues only with padding, at no cost, so its score stays put.
            done = tf.reshape(finished, [flat, 1])
            pad_only = tf.where(tf.equal(tf.range(vocab), Tokenizer.pad_id), 0.0, NEG_INF)
            logp = tf.where(done, pad_only[None, :], logp)
            total = tf.reshape(scores, [flat, 1]) + logp  # raw log-probabilities (B*k, V)
            new_len = tf.where(finished, lengths, lengths + 1)
            ranked = total / tf.reshape(penalty(new_len), [flat, 1])
            ranked = tf.reshape(ranked, [batch, k * vocab])
            _, best = tf.math.top_k(ranked, k)  # (B, k) indices into k * V
            parent = best // vocab
            token = tf.reshape(best % vocab, [flat])
            gather = tf.reshape(parent + tf.range(batch)[:, None] * k, [flat])

            scores = tf.reshape(tf.gather(tf.reshape(total, [-1]),
                                          tf.reshape(best + tf.range(batch)[:, None] * k * vocab,
                                                     [flat])), [batch, k])
            lengths = tf.reshape(tf.gather(tf.reshape(new_len, [flat]), gather), [batch, k])
            was_done = tf.gather(tf.reshape(finished, [flat]), gather)
            finished = tf.reshape(tf.logical_or(was_done, tf.equal(token, Tokenizer.eos_id)),
                                  [batch, k])
            h, c = tf.gather(h, gather), tf.gather(c, gather)
            history = tf.gather(history, gather)
            history = tf.where(tf.equal(positions, step), token[:, None], history)
            at_step = tf.cast(tf.equal(positions, step), tf.float32)[:, :, None]  # (1, L, 1)
            attention = tf.gather(attention, gather) + at_step * tf.gather(
                tf.cast(weights, tf.float32), gather)[:, None, :]
            gates = tf.gather(gates, gather) + at_step * tf.gather(
                tf.cast(_gate_means(step_gates), tf.float32), gather)[:, None, :]
            step += 1

        final = scores / penalty(lengths)
        best = tf.argmax(final, -1, output_type=tf.int32) + tf.range(batch) * k
        return {
            "tokens": tf.gather(history, best)[:, :step],
            "attention": tf.gather(attention, best)[:, :step],
            "gates": tf.gather(gates, best)[:, :step],
        }
