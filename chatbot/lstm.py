"""The LSTM step with its gates written out, for serving and for showing how the model remembers.

    i_t = sigmoid(x_t W_i + h_{t-1} U_i + b_i)     input gate: how much new content to write
    f_t = sigmoid(x_t W_f + h_{t-1} U_f + b_f)     forget gate: how much of the old cell to keep
    g_t = tanh   (x_t W_g + h_{t-1} U_g + b_g)     candidate content
    o_t = sigmoid(x_t W_o + h_{t-1} U_o + b_o)     output gate: how much of the cell to show
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

It reads the weights of a trained `keras.layers.LSTM` (Keras packs the four blocks as i, f, g, o
along the last axis of `kernel`, `recurrent_kernel` and `bias`), so training keeps the fast fused
kernel and serving keeps the equations visible. See Hochreiter & Schmidhuber (1997) and
Goodfellow et al., Deep Learning, section 10.10.1.
"""

from __future__ import annotations

from typing import NamedTuple

from keras import ops


class Gates(NamedTuple):
    input: object  # (B, H)
    forget: object  # (B, H)
    output: object  # (B, H)
    candidate: object  # (B, H)


def lstm_step(x, h, c, kernel, recurrent_kernel, bias, mask=None):
    """One LSTM time step. x (B, D), h and c (B, H); returns (h, c, gates).

    Where `mask` (B,) is false the step is skipped: state passes through unchanged,
    which is what keras.layers.LSTM does for masked (padding) positions.
    """
    z = ops.matmul(x, kernel) + ops.matmul(h, recurrent_kernel) + bias  # (B, 4H)
    z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
    i = ops.sigmoid(z_i)
    f = ops.sigmoid(z_f)
    g = ops.tanh(z_g)
    o = ops.sigmoid(z_o)
    c_new = f * c + i * g
    h_new = o * ops.tanh(c_new)
    if mask is not None:
        keep = ops.expand_dims(ops.cast(mask, h.dtype), -1)  # (B, 1)
        h_new = keep * h_new + (1.0 - keep) * h
        c_new = keep * c_new + (1.0 - keep) * c
    return h_new, c_new, Gates(i, f, o, g)


def lstm_sequence(xs, h, c, kernel, recurrent_kernel, bias, mask=None):
    """Run lstm_step over xs (B, T, D) in Python; used to check the step against keras.layers.LSTM."""
    outputs = []
    for t in range(xs.shape[1]):
        m = None if mask is None else mask[:, t]
        h, c, _ = lstm_step(xs[:, t], h, c, kernel, recurrent_kernel, bias, m)
        outputs.append(h)
    return ops.stack(outputs, axis=1), h, c
