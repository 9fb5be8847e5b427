"""Search strategies over `Seq2Seq.decode_step`, each compiled once as a tf.function.

Every function has a fixed `input_signature` (batch and source length are `None`), so a new
request never retraces: the graph is built on the first call and reused. The encoder runs once per
request; each loop iteration is one call of the explicit LSTM step. The greedy/sampling loop
keeps every shape fixed, so for several rows it runs XLA-compiled (`jit_compile`), padded to a
few row and source-length buckets that the warm-up compiles ahead of any request, the way
TensorFlow Serving pads batches and warms up; per-step op overhead is then gone.

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

import time

import numpy as np
import tensorflow as tf

from chatbot.model import LSTMState
from chatbot.options import CANDIDATES, MAX_LEN, MODES, DecodeOptions  # noqa: F401  (re-exported)
from chatbot.tokenizer import Tokenizer

NEG_INF = -1e9
TOP_PIECES = 8  # explanations keep the likeliest pieces at each step (specials dropped later)
# -- shared pieces of the loops ---------------------------------------------------------------


def _mask_logits(logits, step, min_len, history, used, no_repeat_ngram, repetition_penalty,
                 blank_id, banned_first, exemplar_id=Tokenizer.pad_id):
    """Forbid special tokens, the first pieces in `banned_first` (B, K) at step 0, an early end of
    reply (before min_len, or before any token that is more than a bare word boundary, so no reply
    reads as empty), and repeating any n-gram already generated; make any token already used
    (`used`, (B, V)) less likely (Keskar et al., 2019: divide by the penalty). Every shape is
    fixed by the inputs', so XLA can compile it."""
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
                     lambda: tf.where(used, tf.where(logits > 0, logits / repetition_penalty,
                                                     logits * repetition_penalty), logits),
                     lambda: logits)
    return _block_ngrams(logits, step, history, no_repeat_ngram)


def _ban(logits, banned):
    """banned (B, K) ids, padded with pad_id (always forbidden anyway) -> those logits at -inf."""
    hit = tf.reduce_any(tf.one_hot(banned, tf.shape(logits)[1]) > 0, axis=1)  # (B, V)
    return tf.where(hit, NEG_INF, logits)


def _block_ngrams(logits, step, history, n):
    """history (B, L) holds generated ids in columns [0, step); ban tokens that would repeat an
    n-gram. Every start position is tested and scattered (a miss scatters +max, which `min`
    ignores), so no shape depends on how many n-grams matched."""

    def block():
        prefix_len = n - 1
        windows = step - prefix_len  # candidate n-gram start positions: 0 .. windows-1
        width = tf.shape(history)[1]
        last = width - 1
        starts = tf.range(width)
        match = tf.broadcast_to(starts[None, :] < windows, tf.shape(history))
        for k in range(5):  # n <= 6; unrolled so the graph has no nested loop
            column = tf.gather(history, tf.minimum(starts + k, last), axis=1)  # (B, L)
            wanted = tf.gather(history, tf.clip_by_value(windows + k, 0, step - 1), axis=1)
            same = tf.equal(column, wanted[:, None])
            match = tf.logical_and(match, tf.logical_or(same, k >= prefix_len))
        nxt = tf.gather(history, tf.minimum(starts + prefix_len, last), axis=1)  # (B, L)
        rows = tf.broadcast_to(tf.range(tf.shape(history)[0])[:, None], tf.shape(history))
        indices = tf.stack([tf.reshape(rows, [-1]), tf.reshape(nxt, [-1])], 1)
        updates = tf.where(tf.reshape(match, [-1]), tf.constant(NEG_INF, logits.dtype),
                           logits.dtype.max)
        return tf.tensor_scatter_nd_min(logits, indices, updates)

    return tf.cond(tf.logical_and(n > 0, step >= n), block, lambda: logits)


def _sample_tokens(logits, temperature, top_k, top_p, gumbel):
    """Draw one token per row from the top-k / nucleus (top-p) set of the tempered distribution,
    by the Gumbel-max trick: argmax(log p + g), g ~ Gumbel(0, 1) given in `gumbel` (B, >= k), is
    an exact draw, and noise given per row keeps a row's draw its own whatever the batch.

    Only the CANDIDATES likeliest tokens are ever considered: a partial top-k is far cheaper than
    sorting the whole vocabulary twice a step, and past them the nucleus holds almost no mass.
    The nucleus is measured against the full softmax, so top_p keeps its meaning.
    """
    scaled = logits / temperature
    k = min(CANDIDATES, logits.shape[1])
    values, ids = tf.math.top_k(scaled, k=k)  # (B, k), best first
    probs = tf.exp(values - tf.reduce_logsumexp(scaled, -1, keepdims=True))
    before = tf.cumsum(probs, axis=-1, exclusive=True)  # mass of the better candidates
    rank = tf.range(k)[None, :]
    keep = tf.logical_and(rank < tf.where(top_k > 0, top_k, k), before < top_p)
    choice = tf.argmax(tf.where(keep, values, NEG_INF) + gumbel[:, :k], -1, output_type=tf.int32)
    return tf.gather(ids, choice, batch_dims=1)


def gumbel_noise(seed: int, rows: int) -> np.ndarray:
    """(rows, MAX_LEN, CANDIDATES) standard Gumbel noise from `seed`: what the sampler adds at
    each step. Row b's noise is the same whatever `rows` is (numpy fills it in order)."""
    uniform = np.random.Generator(np.random.Philox(seed)).random((rows, MAX_LEN, CANDIDATES),
                                                                 np.float32)
    return -np.log(-np.log(np.clip(uniform, 1e-7, 1.0 - 1e-7)))


def sampler_noise(options: DecodeOptions, seeds: list[int | None], rows: int) -> np.ndarray:
    """The sampler's noise for len(seeds) requests of `rows` rows each, request b's from
    seeds[b] (a random seed where None); zeros for greedy, which draws nothing."""
    if options.mode == "greedy":
        return np.zeros((len(seeds) * rows, MAX_LEN, CANDIDATES), np.float32)
    return np.concatenate([gumbel_noise(np.random.randint(2**31 - 1) if s is None else s, rows)
                           for s in seeds])


def _batch_major(stacked):
    """(T, B, ...) as written step by step -> (B, T, ...)."""
    rank = len(stacked.shape)
    return tf.transpose(stacked, [1, 0, *range(2, rank)])


def _gate_means(gates):
    return tf.stack([tf.reduce_mean(gates.input, -1), tf.reduce_mean(gates.forget, -1),
                     tf.reduce_mean(gates.output, -1)], -1)  # (B, 3)


ROW_BUCKETS = (1, 8, 16)  # one visitor's greedy or sampled reply; one's drafts; several's


def source_buckets(longest: int) -> tuple[int, ...]:
    """The source lengths the sampler is compiled for: steps of 16 up to the model's longest
    input (the encoder reads every padded position, so coarser steps cost more than they save)."""
    return tuple(range(16, longest - 15, 16)) + (longest,)


def bucket(length: int, buckets: tuple[int, ...]) -> int:
    """The smallest bucket that holds `length`; past the last, the next multiple of 16."""
    return next((b for b in buckets if b >= length), -(-length // 16) * 16)


def _pad_to(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`array` zero-padded at the end of its first len(shape) axes to `shape`."""
    pad = [(0, want - have) for want, have in zip(shape, array.shape)]
    return np.pad(array, pad + [(0, 0)] * (array.ndim - len(shape)))


class CompiledDecoder:
    """Greedy, sampling and beam search over one model, traced once each, plus teacher-forced
    replay (`force`, for explanations) and scoring (`score`, for reranking)."""

    def __init__(self, model, blank_id: int = Tokenizer.unk_id, exemplar_id: int | None = None,
                 xla: bool = True):
        self.model = model
        self.blank_id = blank_id  # the tokenizer's bare "\u2581" piece, see _mask_logits
        # <ex> is never written; pad stands in (always banned) for a tokenizer without it
        self.exemplar_id = Tokenizer.pad_id if exemplar_id is None else exemplar_id
        self.xla = xla
        self.source_buckets = source_buckets(model.cfg.max_source_len)
        self.compiled_shapes: set[tuple[int, int]] = set()  # (rows, source length) run so far
        ids = tf.TensorSpec([None, None], tf.int32)
        scalar_i, scalar_f = tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)
        signature = [ids, scalar_i, scalar_i, scalar_i, scalar_f, scalar_i, scalar_f, scalar_i,
                     scalar_f, tf.TensorSpec([None, MAX_LEN, CANDIDATES], tf.float32), ids]
        self.sample = tf.function(self._sample, input_signature=signature)
        self.sample_xla = tf.function(self._sample, jit_compile=True, input_signature=signature)
        self.beam = tf.function(self._beam, input_signature=[
            ids, scalar_i, scalar_i, scalar_i, scalar_f, scalar_i, scalar_f, ids])
        self.force = tf.function(self._force, input_signature=[ids, ids])
        self.score = tf.function(self._score, input_signature=[ids, ids, ids])

    def run(self, source, options: DecodeOptions, banned_first=None, gumbel=None):
        """source (B, S) int32 -> dict of numpy arrays: tokens (B, L), attention (B, L, S), gates
        (B, L, 3), and for greedy and sampling logp (B, L). `banned_first` (B, K): first pieces
        each row may not start with. `gumbel` (B, MAX_LEN, CANDIDATES): the sampler's noise,
        by default `gumbel_noise` of the options' seed. Rerank mode runs the sampler here; the
        caller repeats each source once per candidate."""
        source = np.asarray(source, np.int32)
        if banned_first is None:
            banned_first = np.zeros((source.shape[0], 1), np.int32)
        banned_first = np.asarray(banned_first, np.int32)
        if options.mode == "beam":
            out = self.beam(source, options.beam_width, options.max_len, options.min_len,
                            options.length_penalty, options.no_repeat_ngram,
                            options.repetition_penalty, banned_first)
            return {key: value.numpy() for key, value in out.items()}
        if gumbel is None:
            gumbel = sampler_noise(options, [options.seed], source.shape[0])
        chunk = ROW_BUCKETS[-1]
        parts = [self._sample_padded(source[i:i + chunk], banned_first[i:i + chunk],
                                     gumbel[i:i + chunk], options)
                 for i in range(0, source.shape[0], chunk)]
        steps = max(part["tokens"].shape[1] for part in parts)
        return {key: np.concatenate([_pad_to(part[key], (len(part[key]), steps))
                                     for part in parts])
                for key in parts[0]}

    def _sample_padded(self, source, banned_first, gumbel, options: DecodeOptions) -> dict:
        """Greedy or sampling for at most ROW_BUCKETS[-1] rows. Several rows run XLA-compiled,
        padded to their bucket's shape; one row runs as a plain graph, which is faster there:
        XLA's CPU matrix-vector products are slower than TensorFlow's (docs/benchmarks.md)."""
        rows, length = source.shape
        sample, shape = self.sample, (rows, length)
        if self.xla and rows > 1:
            sample = self.sample_xla
            shape = (next(b for b in ROW_BUCKETS if b >= rows), bucket(length, self.source_buckets))
            self.compiled_shapes.add(shape)
        temperature = 0.0 if options.mode == "greedy" else options.temperature
        out = sample(_pad_to(source, shape), rows, options.max_len, options.min_len, temperature,
                     options.top_k, options.top_p, options.no_repeat_ngram,
                     options.repetition_penalty, _pad_to(gumbel, (shape[0],)),
                     _pad_to(banned_first, (shape[0],)))
        steps = int(out["steps"])
        return {"tokens": out["tokens"].numpy()[:rows, :steps],
                "attention": out["attention"].numpy()[:rows, :steps, :length],
                "gates": out["gates"].numpy()[:rows, :steps],
                "logp": out["logp"].numpy()[:rows, :steps]}

    def warm_up(self) -> float:
        """Compile the sampler for every shape a request can meet (each row bucket of several
        rows with each source bucket), so no visitor waits for XLA; seconds taken."""
        start = time.perf_counter()
        options = DecodeOptions(mode="greedy", max_len=1)
        for rows in ROW_BUCKETS[1:] if self.xla else ():
            for length in self.source_buckets:
                source = np.full((rows, length), Tokenizer.eos_id, np.int32)
                self.run(source, options)
        return time.perf_counter() - start

    def trace_count(self) -> int:
        """How many graphs were traced (stays at one per strategy once warm; XLA's compiled
        shapes are in `compiled_shapes`)."""
        return sum(f.experimental_get_tracing_count()
                   for f in (self.sample, self.sample_xla, self.beam, self.force, self.score))

    def _start(self, source):
        """Encode once; every search starts from bos with the encoder's final state."""
        memory, state = self.model.encode(source)
        token = tf.fill([tf.shape(source)[0]], Tokenizer.bos_id)
        return memory, state, token

    # -- greedy and sampling ----------------------------------------------------------------

    def _sample(self, source, live_rows, max_len, min_len, temperature, top_k, top_p,
                no_repeat_ngram, repetition_penalty, gumbel, banned_first):
        """Every shape is fixed by the inputs', so XLA compiles the whole loop, encoder included,
        once per (rows, source length) bucket: a row that has ended keeps its place (its outputs
        are zeros from then on), rows from `live_rows` on are padding that never starts, and the
        loop stops as soon as every row has ended."""
        memory, state, token = self._start(source)
        batch, src_len = tf.shape(source)[0], tf.shape(source)[1]
        vocab = self.model.cfg.vocab_size
        done = tf.range(batch) >= live_rows
        history = tf.zeros([batch, MAX_LEN], tf.int32)  # 0 (pad) after a row's end
        used = tf.zeros([batch, vocab], tf.bool)  # the tokens each row has written
        attention = tf.zeros([batch, MAX_LEN, src_len])
        gates = tf.zeros([batch, MAX_LEN, 3])
        logp = tf.zeros([batch, MAX_LEN])  # the model's own log p of each token
        step = tf.constant(0)
        while step < max_len and not tf.reduce_all(done):
            logits, state, step_gates, weights, _ = self.model.decode_step(token, state, memory)
            logits = tf.cast(logits, tf.float32)
            # A copy gate's mixture is a log-distribution already: one pass over V saved.
            raw = logits if self.model.cfg.copy else tf.nn.log_softmax(logits)
            logits = _mask_logits(logits, step, min_len, history, used, no_repeat_ngram,
                                  repetition_penalty, self.blank_id, banned_first,
                                  self.exemplar_id)
            if temperature > 0.0:
                token = _sample_tokens(logits, temperature, top_k, top_p, gumbel[:, step])
            else:
                token = tf.argmax(logits, -1, output_type=tf.int32)
            token = tf.where(done, 0, token)
            on = tf.cast(tf.logical_not(done), tf.float32)[:, None]
            at = tf.equal(tf.range(MAX_LEN), step)[None, :]  # (1, MAX_LEN)
            history = tf.where(at, token[:, None], history)
            used = tf.logical_or(used, tf.one_hot(token, vocab, True, False, dtype=tf.bool))
            attention = tf.where(at[:, :, None], (tf.cast(weights, tf.float32) * on)[:, None],
                                 attention)
            gates = tf.where(at[:, :, None], (_gate_means(step_gates) * on)[:, None], gates)
            logp = tf.where(at, tf.gather(raw, token, batch_dims=1)[:, None] * on, logp)
            done = tf.logical_or(done, tf.equal(token, Tokenizer.eos_id))
            step += 1
        return {"tokens": history, "attention": attention, "gates": gates, "logp": logp,
                "steps": step}

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
        vocab = self.model.cfg.vocab_size
        used = tf.zeros([flat, vocab], tf.bool)  # the tokens each beam has written
        attention = tf.zeros([flat, max_len, tf.shape(source)[1]])
        gates = tf.zeros([flat, max_len, 3])
        token = tf.fill([flat], Tokenizer.bos_id)
        step = tf.constant(0)
        while step < max_len and not tf.reduce_all(finished):
            logits, state, step_gates, weights, _ = self.model.decode_step(token, state, memory)
            logp = _mask_logits(tf.nn.log_softmax(tf.cast(logits, tf.float32)), step, min_len,
                                history, used, no_repeat_ngram, repetition_penalty,
                                self.blank_id, banned_first, self.exemplar_id)
            token, gather, scores, lengths, finished = _beam_select(
                logp, scores, lengths, finished, alpha, k)
            state = LSTMState(tf.gather(state.h, gather), tf.gather(state.c, gather))
            at_step = tf.equal(tf.range(max_len), step)[None, :]  # (1, L)
            history = tf.where(at_step, token[:, None], tf.gather(history, gather))
            used = tf.logical_or(tf.gather(used, gather),
                                 tf.one_hot(token, vocab, True, False, dtype=tf.bool))
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
