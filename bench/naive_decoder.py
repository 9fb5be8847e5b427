"""The keras-io lstm_seq2seq pattern bench.decode times as its baseline: an encoder model and a
step model, each called through `predict`, the step once per generated token."""

from __future__ import annotations

import keras

from chatbot.model import LSTMState, Memory


class NaiveStep(keras.Model):
    """The keras-io pattern: a step model called through `predict` once per token."""

    def __init__(self, seq2seq):
        super().__init__()
        self.seq2seq = seq2seq

    def call(self, inputs):
        token, h, c, values, keys, mask, ids = inputs
        logits, state, *_ = self.seq2seq.decode_step(token, LSTMState(h, c),
                                                     Memory(values, keys, mask, ids))
        return logits, state.h, state.c


class NaiveEncoder(keras.Model):
    def __init__(self, seq2seq):
        super().__init__()
        self.seq2seq = seq2seq

    def call(self, source):
        memory, (h, c) = self.seq2seq.encode(source)
        return memory.values, memory.keys, memory.mask, memory.ids, h, c
