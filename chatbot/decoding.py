"""Search strategies over `Seq2Seq.decode_step`, each compiled once as a tf.function.

Every function has a fixed `input_signature` (batch and source length are `None`), so a new
request never retraces: the graph is built on the first call and reused. The encoder runs once per
request; each loop iteration is one call of the explicit LSTM step.

- greedy and sampling share one loop (temperature 0 means argmax), with top-k / nucleus (top-p)
  filtering (Holtzman et al., 2019) and a stateless seed for reproducible samples;
- beam search ranks hypotheses by the GNMT length penalty lp(Y) = ((5 + |Y|) / 6) ** alpha
  (Wu et al., 2016);
- both block repeated n-grams, the standard remedy for seq2seq loops ("i'm good i'm good ...");
- rerank samples several candidates in one batched call; `chatbot.bot` then picks the one that
  best accounts for the message (Li et al., 2016, see `chatbot.rerank`);
- every search can be told which first pieces it may not use, so "regenerate" always gives a
  different reply, even where greedy and beam search are deterministic.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from chatbot.model import LSTMState, Memory
from chatbot.options import CANDIDATES, MODES, DecodeOptions  # noqa: F401  (re-exported)
from chatbot.tokenizer import Tokenizer

NEG_INF = -1e9
TOP_PIECES = 8  # explanations keep the likeliest pieces at each step (specials dropped later)
# -- shared pieces of the loops ---------------------------------------------------------------


def _mask_logits(logits, step, min_len, history, no_repeat_ngram, repetition_penalty, blank_id,
                 banned_first, exemplar_id=Tokenizer.pad_id):
    """Forbid special tokens, the first pieces in `banned_first` (B, K) at step 0, an early end of
    reply (before min_len, or before any token that is more than a bare word boundary, so no reply
    reads as empty), and repeating any n-gram already generated; make any token already used less
    likely (Keskar et al., 2019: divide by the penalty)."""
    vocab = tf.shape(logits)[1]
    logits = tf.cond(step == 0, lambda: _ban(logits, banned_first), lambda: logits)
    banned = tf.constant([Tokenizer.pad_id, Tokenizer.unk_id, Tokenizer.bos_id, Tokenizer.sep_id,
                          exemplar_id])
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


def _ban(logits, banned):
    """banned (B, K) ids, padded with pad_id (always forbidden anyway) -> those logits at -inf."""
    hit = tf.reduce_any(tf.one_hot(banned, tf.shape(logits)[1]) > 0, axis=1)  # (B, V)
    return tf.where(hit, NEG_INF, logits)


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


def _batch_major(stacked):
    """(T, B, ...) as written step by step -> (B, T, ...)."""
    rank = len(stacked.shape)
    return tf.transpose(stacked, [1, 0, *range(2, rank)])


def _gate_means(gates):
    return tf.stack([tf.reduce_mean(gates.input, -1), tf.reduce_mean(gates.forget, -1),
                     tf.reduce_mean(gates.output, -1)], -1)  # (B, 3)


class CompiledDecoder:
    """Greedy, sampling and beam search over one model, traced once each, plus teacher-forced
    replay (`force`, for explanations) and scoring (`score`, for reranking)."""

    def __init__(self, model, blank_id: int = Tokenizer.unk_id, exemplar_id: int | None = None):
        self.model = model
        self.blank_id = blank_id  # the tokenizer's bare "\u2581" piece, see _mask_logits
        # <ex> is never written; pad stands in (always banned) for a tokenizer without it
        self.exemplar_id = Tokenizer.pad_id if exemplar_id is None else exemplar_id
        ids = tf.TensorSpec([None, None], tf.int32)
        scalar_i, scalar_f = tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)
        self.sample = tf.function(self._sample, reduce_retracing=False, input_signature=[
            ids, scalar_i, scalar_i, scalar_f, scalar_i, scalar_f, scalar_i, scalar_f,
            tf.TensorSpec([2], tf.int32), ids])
        self.beam = tf.function(self._beam, input_signature=[
            ids, scalar_i, scalar_i, scalar_i, scalar_f, scalar_i, scalar_f, ids])
        self.force = tf.function(self._force, input_signature=[ids, ids])
        self.score = tf.function(self._score, input_signature=[ids, ids, ids])

    def run(self, source, options: DecodeOptions, banned_first=None):
        """source (B, S) int32 -> dict of numpy arrays: tokens (B, L), attention (B, L, S), gates
        (B, L, 3). `banned_first` (B, K): first pieces each row may not start with. Rerank mode
        runs the sampler here; the caller repeats each source once per candidate."""
        source = tf.convert_to_tensor(source, tf.int32)
        if banned_first is None:
            banned_first = np.zeros((source.shape[0], 1), np.int32)
        banned_first = tf.convert_to_tensor(banned_first, tf.int32)
        if options.mode == "beam":
            out = self.beam(source, options.beam_width, options.max_len, options.min_len,
                            options.length_penalty, options.no_repeat_ngram,
                            options.repetition_penalty, banned_first)
        else:
            temperature = 0.0 if options.mode == "greedy" else options.temperature
            seed = options.seed if options.seed is not None else int(tf.random.uniform(
                [], 0, 2**31 - 1, tf.int32))
            out = self.sample(source, options.max_len, options.min_len, temperature,
                              options.top_k, options.top_p, options.no_repeat_ngram,
                              options.repetition_penalty, [seed, 0], banned_first)
        return {key: value.numpy() for key, value in out.items()}

    def trace_count(self) -> int:
        """How many graphs were traced (stays at one per strategy once warm)."""
        return sum(f.experimental_get_tracing_count()
                   for f in (self.sample, self.beam, self.force, self.score))

    def _start(self, source):
        """Encode once; every search starts from bos with the encoder's final state."""
        memory, state = self.model.encode(source)
        token = tf.fill([tf.shape(source)[0]], Tokenizer.bos_id)
        return memory, state, token

    # -- greedy and sampling ----------------------------------------------------------------

    def _sample(self, source, max_len, min_len, temperature, top_k, top_p, no_repeat_ngram,
                repetition_penalty, seed, banned_first):
        """Rows that have ended leave the batch: a batched request finishes at the pace of its
        replies, not of its longest one (most steps would otherwise compute rows that are done).
        `rows` maps live rows to request rows."""
        memory, state, token = self._start(source)
        (values, keys, mask, ids), (h, c) = memory, state
        batch, src_len = tf.shape(source)[0], tf.shape(source)[1]
        rows = tf.range(batch)
        history = tf.zeros([batch, max_len], tf.int32)  # by request row; 0 (pad) after the end
        attention = tf.TensorArray(tf.float32, size=max_len)
        gates = tf.TensorArray(tf.float32, size=max_len)
        logp = tf.TensorArray(tf.float32, size=max_len)  # the model's own log p of each token
        step = tf.constant(0)
        while step < max_len and tf.size(rows) > 0:
            tf.autograph.experimental.set_loop_options(shape_invariants=[
                (rows, tf.TensorShape([None])), (token, tf.TensorShape([None])),
                (h, tf.TensorShape([None, None])), (c, tf.TensorShape([None, None])),
                (values, tf.TensorShape([None, None, None])),
                (keys, tf.TensorShape([None, None, None])), (mask, tf.TensorShape([None, None])),
                (ids, tf.TensorShape([None, None])),
            ])
            logits, (h, c), step_gates, weights, _ = self.model.decode_step(
                token, LSTMState(h, c), Memory(values, keys, mask, ids))
            raw = tf.nn.log_softmax(tf.cast(logits, tf.float32))
            logits = _mask_logits(tf.cast(logits, tf.float32), step, min_len,
                                  tf.gather(history, rows), no_repeat_ngram, repetition_penalty,
                                  self.blank_id, banned_first, self.exemplar_id)
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
            logp = logp.write(step, tf.scatter_nd(
                at, tf.gather(raw, token, batch_dims=1)[:, None], tf.stack([batch, 1]))[:, 0])
            live = tf.not_equal(token, Tokenizer.eos_id)
            if not tf.reduce_all(live):
                keep = tf.where(live)[:, 0]
                rows, token, h, c = (tf.gather(t, keep) for t in (rows, token, h, c))
                values, keys, mask, ids = (tf.gather(t, keep) for t in (values, keys, mask, ids))
            step += 1
        return {
            "tokens": history[:, :step],
            "attention": tf.transpose(attention.stack()[:step], [1, 0, 2]),
            "gates": tf.transpose(gates.stack()[:step], [1, 0, 2]),
            "logp": tf.transpose(logp.stack()[:step]),  # (B, L), 0 after a row's end
        }

    # -- teacher forcing: explaining and scoring given replies -----------------------------

    def _force(self, source, target):
        """Step through a known reply (B, T) and record, at each token: attention, the gate means,
        every unit's gates and cell state (for "Inside the LSTM"), and the model's own
        distribution there (the likeliest pieces, and the probability of the piece written)."""
        memory, state, token = self._start(source)
        steps = tf.shape(target)[1]
        arrays = {name: tf.TensorArray(tf.float32, size=steps)
                  for name in ("attention", "gates", "input", "forget", "output", "candidate",
                               "cell", "hidden", "top_p", "chosen_p", "p_gen")}
        top_ids = tf.TensorArray(tf.int32, size=steps)
        cell_start = tf.cast(state.c, tf.float32)
        for step in tf.range(steps):
            logits, state, g, weights, p_gen = self.model.decode_step(token, state, memory)
            probs = tf.nn.softmax(tf.cast(logits, tf.float32))
            best_p, best_ids = tf.math.top_k(probs, k=TOP_PIECES)
            token = target[:, step]
            values = {"attention": weights, "gates": _gate_means(g), "input": g.input,
                      "forget": g.forget, "output": g.output, "candidate": g.candidate,
                      "cell": state.c, "hidden": state.h, "top_p": best_p,
                      "chosen_p": tf.gather(probs, token, batch_dims=1), "p_gen": p_gen}
            arrays = {name: arrays[name].write(step, tf.cast(values[name], tf.float32))
                      for name in arrays}
            top_ids = top_ids.write(step, best_ids)
        out = {name: _batch_major(array.stack()) for name, array in arrays.items()}
        return {**out, "tokens": target, "top_ids": _batch_major(top_ids.stack()),
                "cell_start": cell_start}

    def _score(self, source, target_in, target_out):
        """log p(target | source) of each row (B,): the fused training graph, one call for all
        candidates. Padding (0) in target_out is not scored."""
        logits = tf.cast(self.model((source, target_in), training=False), tf.float32)
        logp = tf.nn.log_softmax(logits)
        picked = tf.gather(logp, target_out, batch_dims=2)  # (B, T)
        return tf.reduce_sum(tf.where(target_out > 0, picked, 0.0), -1)

    # -- beam search ------------------------------------------------------------------------

    def _beam(self, source, beam_width, max_len, min_len, alpha, no_repeat_ngram,
              repetition_penalty, banned_first):
        batch, k = tf.shape(source)[0], beam_width
        flat = batch * k
        memory, state, _ = self._start(source)
        memory, state = tf.nest.map_structure(lambda t: tf.repeat(t, k, axis=0), (memory, state))
        banned_first = tf.repeat(banned_first, k, axis=0)
        # Only the first beam of each request is live at the start, so the k beams differ.
        scores = tf.tile(tf.concat([[0.0], tf.fill([k - 1], NEG_INF)], 0)[None], [batch, 1])
        lengths = tf.zeros([batch, k], tf.int32)  # tokens generated before (and incl.) eos
        finished = tf.zeros([batch, k], tf.bool)
        history = tf.zeros([flat, max_len], tf.int32)
        attention = tf.zeros([flat, max_len, tf.shape(source)[1]])
        gates = tf.zeros([flat, max_len, 3])
        token = tf.fill([flat], Tokenizer.bos_id)
        step = tf.constant(0)
        while step < max_len and not tf.reduce_all(finished):
            logits, state, step_gates, weights, _ = self.model.decode_step(token, state, memory)
            logp = _mask_logits(tf.nn.log_softmax(tf.cast(logits, tf.float32)), step, min_len,
                                history, no_repeat_ngram, repetition_penalty, self.blank_id,
                                banned_first, self.exemplar_id)
            token, gather, scores, lengths, finished = _beam_select(
                logp, scores, lengths, finished, alpha, k)
            state = LSTMState(tf.gather(state.h, gather), tf.gather(state.c, gather))
            at_step = tf.equal(tf.range(max_len), step)[None, :]  # (1, L)
            history = tf.where(at_step, token[:, None], tf.gather(history, gather))
            record = tf.cast(at_step, tf.float32)[:, :, None]
            attention = tf.gather(attention, gather) + record * tf.gather(
                tf.cast(weights, tf.float32), gather)[:, None, :]
            gates = tf.gather(gates, gather) + record * tf.gather(
                tf.cast(_gate_means(step_gates), tf.float32), gather)[:, None, :]
            step += 1
        best = _best_beam(scores, lengths, finished, alpha)
        return {"tokens": tf.gather(history, best)[:, :step],
                "attention": tf.gather(attention, best)[:, :step],
                "gates": tf.gather(gates, best)[:, :step]}


def _length_penalty(length, alpha):
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def _beam_select(logp, scores, lengths, finished, alpha, k):
    """The k best extensions of the k beams of each request: tokens and parents (B*k,), and the
    beams' new raw scores, lengths and finished flags (B, k). A finished beam continues only with
    padding, at no cost, so its score stays put."""
    batch, vocab = tf.shape(scores)[0], tf.shape(logp)[1]
    flat = batch * k
    pad_only = tf.where(tf.equal(tf.range(vocab), Tokenizer.pad_id), 0.0, NEG_INF)
    logp = tf.where(tf.reshape(finished, [flat, 1]), pad_only[None, :], logp)
    total = tf.reshape(scores, [flat, 1]) + logp  # raw log-probabilities (B*k, V)
    new_len = tf.where(finished, lengths, lengths + 1)
    ranked = tf.reshape(total / tf.reshape(_length_penalty(new_len, alpha), [flat, 1]),
                        [batch, k * vocab])
    _, best = tf.math.top_k(ranked, k)  # (B, k) indices into k * V
    token = tf.reshape(best % vocab, [flat])
    gather = tf.reshape(best // vocab + tf.range(batch)[:, None] * k, [flat])
    scores = tf.reshape(tf.gather(tf.reshape(total, [-1]), tf.reshape(
        best + tf.range(batch)[:, None] * k * vocab, [flat])), [batch, k])
    lengths = tf.reshape(tf.gather(tf.reshape(new_len, [flat]), gather), [batch, k])
    was_done = tf.gather(tf.reshape(finished, [flat]), gather)
    finished = tf.reshape(tf.logical_or(was_done, tf.equal(token, Tokenizer.eos_id)), [batch, k])
    return token, gather, scores, lengths, finished


def _best_beam(scores, lengths, finished, alpha):
    """Row (into B*k) of each request's best beam: the best finished one when any has finished,
    since an unfinished beam at max_len is a reply cut mid-sentence."""
    final = scores / _length_penalty(lengths, alpha)
    any_done = tf.reduce_any(finished, -1, keepdims=True)
    final = tf.where(tf.logical_or(finished, tf.logical_not(any_done)), final, 2 * NEG_INF)
    k = tf.shape(scores)[1]
    return tf.argmax(final, -1, output_type=tf.int32) + tf.range(tf.shape(scores)[0]) * k
