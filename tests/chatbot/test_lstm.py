"""The explicit gate equations must match keras.layers.LSTM exactly (to float32 round-off)."""

import keras
import numpy as np
import pytest

from chatbot.lstm import lstm_sequence, lstm_step


def random_lstm(units, dim, seed):
    layer = keras.layers.LSTM(units, return_sequences=True, return_state=True)
    layer.build((None, None, dim))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_equals_keras_lstm(seed):
    rng = np.random.default_rng(seed)
    batch, steps, dim, units = 3, 7, 5, 4
    layer = random_lstm(units, dim, seed)
    xs = rng.normal(size=(batch, steps, dim)).astype("float32")
    h0 = rng.normal(size=(batch, units)).astype("float32")
    c0 = rng.normal(size=(batch, units)).astype("float32")
    want_seq, want_h, want_c = layer(xs, initial_state=[h0, c0])
    cell = layer.cell
    got_seq, got_h, got_c = lstm_sequence(xs, h0, c0, cell.kernel, cell.recurrent_kernel,
                                          cell.bias)
    np.testing.assert_allclose(got_seq, want_seq, atol=1e-5)
    np.testing.assert_allclose(got_h, want_h, atol=1e-5)
    np.testing.assert_allclose(got_c, want_c, atol=1e-5)


def test_masked_steps_carry_state_like_keras():
    rng = np.random.default_rng(7)
    batch, steps, dim, units = 4, 6, 3, 5
    layer = random_lstm(units, dim, 7)
    xs = rng.normal(size=(batch, steps, dim)).astype("float32")
    lengths = np.array([6, 4, 1, 3])
    mask = np.arange(steps)[None, :] < lengths[:, None]
    zeros = np.zeros((batch, units), "float32")
    _, want_h, want_c = layer(xs, mask=mask, initial_state=[zeros, zeros])
    cell = layer.cell
    _, got_h, got_c = lstm_sequence(xs, zeros, zeros, cell.kernel, cell.recurrent_kernel,
                                    cell.bias, mask=mask)
    np.testing.assert_allclose(got_h, want_h, atol=1e-5)
    np.testing.assert_allclose(got_c, want_c, atol=1e-5)


def test_gates_are_probabilities_and_cell_update_holds():
    rng = np.random.default_rng(3)
    layer = random_lstm(4, 3, 3)
    x = rng.normal(size=(2, 3)).astype("float32")
    h = rng.normal(size=(2, 4)).astype("float32")
    c = rng.normal(size=(2, 4)).astype("float32")
    cell = layer.cell
    h1, c1, g = lstm_step(x, h, c, cell.kernel, cell.recurrent_kernel, cell.bias)
    for gate in (g.input, g.forget, g.output):
        assert np.all((np.asarray(gate) > 0) & (np.asarray(gate) < 1))
    np.testing.assert_allclose(c1, np.asarray(g.forget) * c + np.asarray(g.input) *
                               np.asarray(g.candidate), atol=1e-6)
    np.testing.assert_allclose(h1, np.asarray(g.output) * np.tanh(np.asarray(c1)), atol=1e-6)
