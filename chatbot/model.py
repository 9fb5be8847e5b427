"""The seq2seq model: bidirectional LSTM encoder, LSTM decoder, Luong attention, tied output.

Training runs `call((source, target_in))` with teacher forcing and the fused keras.layers.LSTM.
Serving runs `encode(source)` once and then `decode_step(...)` per token, whose LSTM update is
written out gate by gate in `chatbot.lstm` and reads the same weights.

Attention is Luong et al. (2015), "general" score: score(h_t, s) = h_t W_a s, then
attentional hidden state h~_t = tanh(W_c [c_t; h_t]). With `arch="baseline"` there is no
attention: the decoder sees only the encoder's final state (Sutskever et al., 2014).

With `copy` (the pointer-generator of See et al., 2017) each step also computes
p_gen = sigmoid(w [h~_t; h_t; y_{t-1}] + b) and writes from the mixture
p(w) = p_gen * softmax(logits)(w) + (1 - p_gen) * sum of the attention on the source positions
holding w, so a word it reads (a name, "hiking") can be written even where the vocabulary
distribution finds it unlikely. The model then returns log p(w) where it returned logits:
softmax and log_softmax leave a log-distribution unchanged, so the loss, the searches and the
scoring read it as they read logits.

Written with `keras.ops` only, so the same code can train under the JAX backend on a GPU (the
shipped model's first phase did; CI does not test it, and the copy gate has never run there).
Decoding, evaluation and serving are TensorFlow (`chatbot.decoding`).
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers, ops

from chatbot.config import ModelConfig
from chatbot.lstm import lstm_step

NEG_INF = -1e9
COPY_BIAS = 3.0  # p_gen starts near 0.95: a model fine-tuned with the gate starts as its parent
TINY = 1e-20  # log(0) guard for words that are nowhere in the source


class LSTMState(NamedTuple):
    """The decoder's memory between steps: hidden state h and cell state c, each (B, 2U)."""

    h: object
    c: object


class Memory(NamedTuple):
    """What the decoder attends to, computed once per request by `encode`."""

    values: object  # encoder outputs (B, S, 2U)
    keys: object  # values projected by W_a, so a step's score is one batched dot (B, S, 2U)
    mask: object  # true at real source tokens (B, S)
    ids: object = None  # the source ids (B, S), where the copy gate copies from


@keras.saving.register_keras_serializable(package="lembra")
class LuongAttention(layers.Layer):
    """Luong "general" attention followed by the attentional hidden state h~ = tanh(W_c [ctx; h])."""

    def __init__(self, units: int, out_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.out_dim = out_dim

    def build(self, input_shape=None):
        self.w_a = self.add_weight(shape=(self.units, self.units), name="w_a",
                                   initializer="glorot_uniform")
        self.w_c = self.add_weight(shape=(2 * self.units, self.out_dim), name="w_c",
                                   initializer="glorot_uniform")

    def keys(self, values):
        return ops.matmul(values, ops.transpose(self.w_a))  # (B, S, U)

    def call(self, queries, values, keys, mask):
        """queries (B, T, U) -> attentional states (B, T, out_dim) and weights (B, T, S)."""
        scores = ops.einsum("btu,bsu->bts", queries, keys)
        scores = ops.where(ops.expand_dims(mask, 1), scores, NEG_INF)
        weights = ops.softmax(scores, axis=-1)
        context = ops.einsum("bts,bsu->btu", weights, values)
        attended = ops.tanh(ops.matmul(ops.concatenate([context, queries], -1), self.w_c))
        return attended, weights

    def get_config(self):
        return {**super().get_config(), "units": self.units, "out_dim": self.out_dim}


@keras.saving.register_keras_serializable(package="lembra")
class Seq2Seq(keras.Model):
    """Encoder-decoder LSTM; the constructor takes the ModelConfig fields as a dict."""

    def __init__(self, model_config: dict, **kwargs):
        super().__init__(**kwargs)
        self.model_config = dict(model_config)
        cfg = self.cfg = ModelConfig.from_dict(model_config)
        self.embedding = layers.Embedding(cfg.vocab_size, cfg.embed_dim, name="embedding")
        self.encoders = [
            layers.Bidirectional(
                layers.LSTM(cfg.enc_units, return_sequences=True, return_state=True),
                name=f"encoder_{i}")
            for i in range(cfg.enc_layers)
        ]
        self.decoder_lstm = layers.LSTM(cfg.dec_units, return_sequences=True, name="decoder_lstm")
        if cfg.arch == "attention":
            self.attention = LuongAttention(cfg.dec_units, cfg.embed_dim, name="attention")
        else:
            self.bridge = layers.Dense(cfg.embed_dim, activation="tanh", name="bridge")
        if cfg.tie_embeddings:
            # An unbounded linear map into embedding space before the tied output: the tanh
            # states alone cap the logits' scale and the model learns far slower (measured).
            self.projection = layers.Dense(cfg.embed_dim, use_bias=False, name="tied_projection")
        else:
            self.projection = layers.Dense(cfg.vocab_size, use_bias=False, name="projection")
        if cfg.copy:
            self.copy_gate = layers.Dense(1, name="copy_gate",
                                          bias_initializer=keras.initializers.Constant(COPY_BIAS))
        self.dropout = layers.Dropout(cfg.dropout)
        # Only TensorFlow traces the gather's data-dependent shape; JAX's jit needs static ones.
        self.real_positions_only = keras.backend.backend() == "tensorflow"
        self.build_all()

    def build_all(self):
        """Create every weight now so a loaded model needs no sample call before its weights load."""
        cfg = self.cfg
        self.embedding.build((None, None))
        width = cfg.embed_dim
        for encoder in self.encoders:
            encoder.build((None, None, width))
            width = 2 * cfg.enc_units
        self.decoder_lstm.build((None, None, cfg.embed_dim))
        if cfg.arch == "attention":
            self.attention.build()
        else:
            self.bridge.build((None, cfg.dec_units))
        self.projection.build((None, cfg.embed_dim))
        if cfg.copy:
            self.copy_gate.build((None, 2 * cfg.embed_dim + cfg.dec_units))
        self.output_bias = self.add_weight(shape=(cfg.vocab_size,), name="output_bias",
                                           initializer="zeros")
        self.built = True

    # -- training ---------------------------------------------------------------------------

    def call(self, inputs, training=False):
        """inputs = (source (B, S), target_in (B, T)) -> logits (B, T, V); in a training step
        under TensorFlow, logits (N, V) of the N real target positions only (`compute_loss`
        gathers their labels the same way)."""
        source, target_in = inputs
        memory, state = self.encode(source, training=training)
        y = self.dropout(self.embedding(target_in), training=training)  # (B, T, E)
        dec = self.decoder_lstm(y, initial_state=list(state), training=training)  # (B, T, 2U)
        dec = self.dropout(dec, training=training)
        if self.cfg.arch == "attention":
            states, weights = self.attention(dec, memory.values, memory.keys, memory.mask)
        else:
            states = self.bridge(dec)
        if self.cfg.copy:
            gate = self.copy_gate(ops.concatenate([states, dec, y], -1))[..., 0]  # (B, T)
            ids = ops.repeat(ops.expand_dims(source, 1), ops.shape(target_in)[1], axis=1)
        if training and self.real_positions_only:
            # The output layer is most of a step's work and padding is much of a batch.
            states = real_positions(states, target_in)
            if self.cfg.copy:
                gate, weights, ids = (real_positions(t, target_in) for t in (gate, weights, ids))
        logits = self.logits(self.dropout(states, training=training))
        if self.cfg.copy:
            return copy_mixture(logits, gate, weights, ids)
        return logits

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if training and self.real_positions_only and y is not None:
            y = real_positions(y, x[1])
        return super().compute_loss(x, y, y_pred, sample_weight, training)

    # -- inference --------------------------------------------------------------------------

    def encode(self, source, training=False):
        """source (B, S) ids, 0 = padding -> Memory and the decoder's initial LSTMState."""
        mask = ops.not_equal(source, 0)
        x = self.dropout(self.embedding(source), training=training)
        for encoder in self.encoders:
            x, h_fw, c_fw, h_bw, c_bw = encoder(x, mask=mask, training=training)
            x = self.dropout(x, training=training)
        h = ops.concatenate([h_fw, h_bw], -1)
        c = ops.concatenate([c_fw, c_bw], -1)
        keys = self.attention.keys(x) if self.cfg.arch == "attention" else x
        return Memory(x, keys, mask, source), LSTMState(h, c)

    def decode_step(self, token, state: LSTMState, memory: Memory):
        """One generated token. token (B,) -> logits (B, V) (with the copy gate, the mixture's
        log-probabilities), the new LSTMState, gates, attention (B, S) and p_gen (B,): 1 when
        all came from the vocabulary distribution, as it always does without the gate."""
        cell = self.decoder_lstm.cell
        x = self.embedding(token)  # (B, E)
        h, c, gates = lstm_step(x, state.h, state.c, cell.kernel, cell.recurrent_kernel, cell.bias)
        if self.cfg.arch == "attention":
            states, weights = self.attention(ops.expand_dims(h, 1), memory.values, memory.keys,
                                             memory.mask)
            states, weights = states[:, 0], weights[:, 0]
        else:
            states = self.bridge(h)
            weights = ops.zeros_like(ops.cast(memory.mask, h.dtype))
        logits = self.logits(states)
        if not self.cfg.copy:
            return logits, LSTMState(h, c), gates, weights, ops.ones_like(h[:, 0])
        gate = self.copy_gate(ops.concatenate([states, h, x], -1))[:, 0]
        return (step_copy_mixture(logits, gate, weights, memory.ids), LSTMState(h, c), gates,
                weights, ops.sigmoid(ops.cast(gate, "float32")))

    def logits(self, states):
        if self.cfg.tie_embeddings:
            table = self.embedding.embeddings  # (V, E): the output layer reuses the input embedding
            return ops.matmul(self.projection(states), ops.transpose(table)) + self.output_bias
        return self.projection(states) + self.output_bias

    def get_config(self):
        return {"model_config": self.model_config, "name": self.name}


def real_positions(values, target_in):
    """values (B, T, ...) -> (N, ...) at the N positions where target_in is not padding."""
    flat = ops.reshape(values, (-1, *ops.shape(values)[2:]))
    index = ops.where(ops.reshape(ops.not_equal(target_in, 0), (-1,)))[0]
    return ops.take(flat, index, axis=0)


def copy_mixture(logits, gate, weights, ids):
    """log p of the pointer-generator mixture (see the module docstring), in float32.

    logits (..., V); gate (...) the pre-sigmoid p_gen; weights (..., S) the attention; ids (..., S)
    the source ids. The copy distribution is the attention summed into the vocabulary by a
    scatter (duplicates add up), never a (..., S, V) one-hot. Both halves are mixed in log space
    (log p_gen + log_softmax and log(1 - p_gen) + log copy), so neither underflows.
    """
    logits = ops.cast(logits, "float32")
    gate = ops.cast(gate, "float32")
    weights = ops.cast(weights, "float32")
    shape = ops.shape(logits)
    vocab = shape[-1]
    flat_w = ops.reshape(weights, (-1, ops.shape(weights)[-1]))  # (R, S)
    index = _vocab_index(ops.reshape(ops.cast(ids, "int32"), ops.shape(flat_w)))
    copied = ops.scatter(index, ops.reshape(flat_w, (-1,)), (ops.shape(flat_w)[0], vocab))
    copied = ops.reshape(copied, shape)
    generated = ops.log_softmax(logits, axis=-1) + ops.expand_dims(ops.log_sigmoid(gate), -1)
    pointed = ops.log(copied + TINY) + ops.expand_dims(ops.log_sigmoid(-gate), -1)
    return ops.logaddexp(generated, pointed)


def step_copy_mixture(logits, gate, weights, ids):
    """`copy_mixture` for one decoder step (logits (B, V), gate (B,), weights and ids (B, S)),
    mixed only at the source's words: everywhere else the copy share is zero, and the full
    mixture there differs from log p_gen + log_softmax(logits) by log1p(TINY / p), nothing for
    any word a search could pick. One pass over the vocabulary instead of four, which is most of
    a compiled step's time."""
    logits = ops.cast(logits, "float32")
    gate = ops.cast(gate, "float32")
    weights = ops.cast(weights, "float32")
    ids = ops.cast(ids, "int32")
    generated = ops.log_softmax(logits, axis=-1) + ops.expand_dims(ops.log_sigmoid(gate), -1)
    same = ops.equal(ops.expand_dims(ids, 2), ops.expand_dims(ids, 1))  # (B, S, S)
    copied = ops.sum(ops.where(same, ops.expand_dims(weights, 1), 0.0), -1)  # on each one's word
    at_source = ops.take_along_axis(generated, ids, axis=1)  # (B, S)
    mixed = ops.logaddexp(at_source, ops.log(copied + TINY)
                          + ops.expand_dims(ops.log_sigmoid(-gate), -1))
    return ops.scatter_update(generated, _vocab_index(ids), ops.reshape(mixed, (-1,)))  # repeats agree


def _vocab_index(ids):
    """ids (R, S) -> (R * S, 2) [row, id] pairs: where each source position lands in (R, V)."""
    rows = ops.repeat(ops.expand_dims(ops.arange(ops.shape(ids)[0], dtype="int32"), 1),
                      ops.shape(ids)[1], axis=1)
    return ops.stack([ops.reshape(rows, (-1,)), ops.reshape(ids, (-1,))], axis=1)


def build_model(config: ModelConfig) -> Seq2Seq:
    import dataclasses

    return Seq2Seq(dataclasses.asdict(config), name=f"lembra_{config.arch}")
