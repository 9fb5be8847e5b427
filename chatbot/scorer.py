"""The relevance scorer: an LSTM dual encoder that tells a fitting reply from a generic one.

Lowe et al. (2015), "The Ubuntu Dialogue Corpus": the context and the reply are each read by an
LSTM into one vector, and their dot product says how well the reply fits. A likelihood model
cannot do this job: p(reply | context) is highest for replies that are likely after anything
("haha", "me too"), so the seq2seq model ranks the true reply first among 10 under 20% of the
time. The dual encoder is trained to *discriminate*: each context against every reply of its
batch (in-batch negatives, Henderson et al. 2017), a softmax with a learned temperature.

Each side: embedding -> bidirectional LSTM -> [masked mean of the outputs; last states] ->
a linear map to `dim` -> unit length, so the score is a cosine in [-1, 1] and one matrix
product scores a context against a whole memory of replies (chatbot.reply_memory).

Written with `keras.ops` only, like chatbot.model.
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
from keras import layers, ops

from chatbot.config import ScorerConfig

MAX_SCALE = math.log(100.0)  # the softmax temperature may not fall below 0.01
# A fit (cosine) at or above these reads as "fits well" / "fits somewhat" in "Why this reply?".
# On 2,000 test contexts of the shipped scorer: the true reply reaches FIT_WELL for 39% and
# FIT_SOME for 91%; a random test reply for 2.4% and 38%.
FIT_WELL, FIT_SOME = 0.5, 0.3


def fit_label(fit: float) -> str:
    """The words a person reads for a fit: "well", "somewhat" or "poorly"."""
    return "well" if fit >= FIT_WELL else "somewhat" if fit >= FIT_SOME else "poorly"


@keras.saving.register_keras_serializable(package="lembra")
class DualEncoder(keras.Model):
    """score(context, reply) = <context vector, reply vector>; both vectors have unit length."""

    def __init__(self, scorer_config: dict, **kwargs):
        super().__init__(**kwargs)
        self.scorer_config = dict(scorer_config)
        cfg = self.cfg = ScorerConfig.from_dict(scorer_config)
        dtype = self.dtype_policy  # sublayers store their weights as the whole model does
        self.embedding = layers.Embedding(cfg.vocab_size, cfg.embed_dim, name="embedding",
                                          dtype=dtype)
        for side in ("context", "reply"):
            setattr(self, f"{side}_lstm", layers.Bidirectional(
                layers.LSTM(cfg.units, return_sequences=True, return_state=True, dtype=dtype),
                name=f"{side}_lstm", dtype=dtype))
            setattr(self, f"{side}_head", layers.Dense(cfg.dim, use_bias=False,
                                                       name=f"{side}_head", dtype=dtype))
        self.dropout = layers.Dropout(cfg.dropout)
        self.embedding.build((None, None))
        for side in ("context", "reply"):
            rnn, head = self.side(side)
            rnn.build((None, None, cfg.embed_dim))
            head.build((None, 4 * cfg.units))
        self.log_scale = self.add_weight(shape=(), name="log_scale",
                                         initializer=keras.initializers.Constant(math.log(20.0)))
        self.built = True

    def side(self, side: str):
        return getattr(self, f"{side}_lstm"), getattr(self, f"{side}_head")

    def encode(self, ids, side: str, training=False):
        """ids (B, L), 0 = padding -> unit vectors (B, dim) in float32."""
        rnn, head = self.side(side)
        mask = ops.not_equal(ids, 0)
        x = self.dropout(self.embedding(ids), training=training)
        out, h_fw, _, h_bw, _ = rnn(x, mask=mask, training=training)
        weight = ops.cast(ops.expand_dims(mask, -1), out.dtype)
        mean = ops.sum(out * weight, axis=1) / ops.maximum(ops.sum(weight, axis=1), 1.0)
        vector = head(self.dropout(ops.concatenate([mean, h_fw, h_bw], -1), training=training))
        return ops.normalize(ops.cast(vector, "float32"), axis=-1)

    def scale(self):
        return ops.exp(ops.minimum(ops.cast(self.log_scale, "float32"), MAX_SCALE))

    def call(self, inputs, training=False):
        """(contexts (B, S), replies (B, T)) -> logits (B, B): every context against every reply
        of the batch, the true pairs on the diagonal."""
        contexts, replies = inputs
        c = self.encode(contexts, "context", training)
        r = self.encode(replies, "reply", training)
        return self.scale() * ops.matmul(c, ops.transpose(r))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Cross-entropy both ways (each context picks its reply, each reply its context)."""
        labels = ops.arange(ops.shape(y_pred)[0])
        to_reply = keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True)
        to_context = keras.losses.sparse_categorical_crossentropy(
            labels, ops.transpose(y_pred), from_logits=True)
        return ops.mean(to_reply + to_context) / 2.0

    def get_config(self):
        return {"scorer_config": self.scorer_config, "name": self.name}


class CompiledScorer:
    """The scorer's two encoders as compiled functions over id lists: what serving, the memory
    and evaluation call (any batch size and length, traced once each)."""

    def __init__(self, scorer: DualEncoder, batch_size: int = 512):
        import tensorflow as tf

        self.scorer, self.cfg, self.batch_size = scorer, scorer.cfg, batch_size
        spec = [tf.TensorSpec((None, None), tf.int32)]
        self._fns = {side: tf.function(lambda ids, side=side: scorer.encode(ids, side),
                                       input_signature=spec)
                     for side in ("context", "reply")}

    def contexts(self, ids: list[list[int]]) -> np.ndarray:
        return self._encode(ids, "context", self.cfg.max_src_len)

    def replies(self, ids: list[list[int]]) -> np.ndarray:
        return self._encode(ids, "reply", self.cfg.max_tgt_len)

    def _encode(self, ids, side: str, cap: int) -> np.ndarray:
        """Sorted by length and padded per batch, so long rows do not pad short ones."""
        rows = [list(r[:cap]) if side == "reply" else list(r[-cap:]) for r in ids]
        # An empty text reads as one unknown piece, and so does a piece the scorer never had
        # (<ex>, which a retrieve-and-refine tokenizer adds after the scorer was trained).
        vocab = self.cfg.vocab_size
        rows = [[t if t < vocab else 1 for t in r] or [1] for r in rows]
        out = np.zeros((len(rows), self.cfg.dim), np.float32)
        order = np.argsort([len(r) for r in rows], kind="stable")
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            batch = np.zeros((len(chunk), max(len(rows[i]) for i in chunk)), np.int32)
            for j, i in enumerate(chunk):
                batch[j, : len(rows[i])] = rows[i]
            out[chunk] = self._fns[side](batch).numpy()
        return out


def build_scorer(config: ScorerConfig, dtype=None) -> DualEncoder:
    return DualEncoder(dataclasses.asdict(config), name="lembra_scorer", dtype=dtype)


def as_float32(scorer: DualEncoder) -> DualEncoder:
    """A float32 copy of a scorer stored in float16 (the bundle keeps it half size)."""
    if scorer.dtype_policy.name == "float32":
        return scorer
    fresh = build_scorer(scorer.cfg)
    fresh.set_weights([np.asarray(w, np.float32) for w in scorer.get_weights()])
    return fresh
