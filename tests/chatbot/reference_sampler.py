"""The sampling loop as it was before it was compiled with XLA (kept verbatim but for the
draw, `chatbot.decoding._sample_tokens`, which reads the same Gumbel noise): its finished rows
leave the batch and its masks use data-dependent shapes. Tests check the compiled loop against
it; the helpers that did not change (`_ban`, `_gate_means`) come from chatbot.decoding."""

import tensorflow as tf

from chatbot.decoding import _ban, _gate_means, _sample_tokens
from chatbot.model import LSTMState, Memory
from chatbot.tokenizer import Tokenizer

NEG_INF = -1e9


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


def sample(decoder, source, max_len, min_len, temperature, top_k, top_p, no_repeat_ngram,
            repetition_penalty, gumbel, banned_first):
    """Rows that have ended leave the batch: a batched request finishes at the pace of its
    replies, not of its longest one (most steps would otherwise compute rows that are done).
    `rows` maps live rows to request rows."""
    memory, state, token = decoder._start(source)
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
        logits, (h, c), step_gates, weights, _ = decoder.model.decode_step(
            token, LSTMState(h, c), Memory(values, keys, mask, ids))
        raw = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        logits = _mask_logits(tf.cast(logits, tf.float32), step, min_len,
                              tf.gather(history, rows), no_repeat_ngram, repetition_penalty,
                              decoder.blank_id, banned_first, decoder.exemplar_id)
        if temperature > 0.0:
            token = _sample_tokens(logits, temperature, top_k, top_p,
                                   tf.gather(gumbel[:, step], rows))
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
