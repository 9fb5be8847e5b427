"""The seq2seq model: shapes, masks, the step path equals the training path, .keras round-trip."""

import dataclasses

import keras
import numpy as np
import pytest

from chatbot.config import ModelConfig
from chatbot.model import build_model, copy_mixture, step_copy_mixture

SMALL = ModelConfig(vocab_size=60, embed_dim=12, enc_units=8, dropout=0.0, max_src_len=10)


@pytest.fixture(params=["attention", "baseline", "copy"])
def model(request):
    keras.utils.set_random_seed(0)
    if request.param == "copy":
        return build_model(dataclasses.replace(SMALL, copy=True))
    return build_model(dataclasses.replace(SMALL, arch=request.param))


def batch():
    src = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 0, 0, 0, 0]], np.int32)
    tgt_in = np.array([[2, 11, 12, 13], [2, 14, 15, 0]], np.int32)
    return src, tgt_in


def test_logits_shape(model):
    src, tgt_in = batch()
    assert model((src, tgt_in)).shape == (2, 4, SMALL.vocab_size)


def test_step_by_step_decoding_equals_teacher_forcing(model):
    """decode_step (explicit gates) must reproduce call() (fused keras LSTM), token by token."""
    src, tgt_in = batch()
    want = np.asarray(model((src, tgt_in)))
    memory, state = model.encode(src)
    for t in range(tgt_in.shape[1]):
        logits, state, gates, weights, _ = model.decode_step(tgt_in[:, t], state, memory)
        np.testing.assert_allclose(np.asarray(logits), want[:, t], atol=1e-4)


def test_attention_ignores_padding():
    model = build_model(SMALL)
    src, _ = batch()
    memory, state = model.encode(src)
    _, _, _, weights, _ = model.decode_step(np.array([2, 2]), state, memory)
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.all(weights[0, 4:] == 0) and np.all(weights[1, 2:] == 0)


def test_padding_does_not_change_the_encoding():
    model = build_model(SMALL)
    short = np.array([[5, 6, 7]], np.int32)
    padded = np.array([[5, 6, 7, 0, 0]], np.int32)
    _, (h1, c1) = model.encode(short)
    _, (h2, c2) = model.encode(padded)
    np.testing.assert_allclose(h1, h2, atol=1e-5)
    np.testing.assert_allclose(c1, c2, atol=1e-5)


def test_keras_file_round_trip(model, tmp_path):
    src, tgt_in = batch()
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.cfg == model.cfg
    np.testing.assert_allclose(loaded((src, tgt_in)), model((src, tgt_in)), atol=1e-6)


def test_untied_projection():
    model = build_model(dataclasses.replace(SMALL, tie_embeddings=False))
    src, tgt_in = batch()
    assert model((src, tgt_in)).shape == (2, 4, SMALL.vocab_size)


def fit_twice(real_positions_only: bool):
    """Two training steps from one seed; the loss and the weights they end with."""
    keras.utils.set_random_seed(0)
    model = build_model(SMALL)
    model.real_positions_only = real_positions_only
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
    src, tgt_in = batch()
    tgt_out = np.array([[11, 12, 13, 3], [14, 15, 0, 0]], np.int32)
    history = model.fit((src, tgt_in), tgt_out, epochs=2, batch_size=2, verbose=0)
    return history.history["loss"], model.get_weights()


def test_training_on_real_positions_only_trains_the_same_model():
    """Logits only where the target is real: the same loss and updates as every position's."""
    dense_loss, dense_weights = fit_twice(False)
    sparse_loss, sparse_weights = fit_twice(True)
    np.testing.assert_allclose(sparse_loss, dense_loss, rtol=1e-5)
    for a, b in zip(sparse_weights, dense_weights):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_training_step_computes_logits_at_real_positions_only(model):
    src, tgt_in = batch()
    model.real_positions_only = True
    assert model((src, tgt_in), training=True).shape == (7, SMALL.vocab_size)
    assert model((src, tgt_in), training=False).shape == (2, 4, SMALL.vocab_size)


def test_the_copy_mixture_is_a_distribution():
    """log p of the mixture: exp sums to 1 at every position, in training and in the step."""
    keras.utils.set_random_seed(0)
    model = build_model(dataclasses.replace(SMALL, copy=True))
    src, tgt_in = batch()
    np.testing.assert_allclose(np.exp(np.asarray(model((src, tgt_in)))).sum(-1), 1.0, atol=1e-4)
    memory, state = model.encode(src)
    logits, *_, p_gen = model.decode_step(tgt_in[:, 0], state, memory)
    np.testing.assert_allclose(np.exp(np.asarray(logits)).sum(-1), 1.0, atol=1e-4)
    assert np.all((np.asarray(p_gen) > 0) & (np.asarray(p_gen) < 1))


def test_the_copy_gate_writes_a_word_only_the_source_has():
    """A word the vocabulary distribution can hardly produce still wins when the gate copies."""
    keras.utils.set_random_seed(0)
    model = build_model(dataclasses.replace(SMALL, copy=True))
    rare = 7
    bias = np.zeros(SMALL.vocab_size, np.float32)
    bias[rare] = -1e4
    model.output_bias.assign(bias)
    src, tgt_in = batch()
    memory, state = model.encode(src)
    model.copy_gate.bias.assign([20.0])  # p_gen ~ 1: the vocabulary only
    logits, *_ = model.decode_step(tgt_in[:, 0], state, memory)
    assert np.asarray(logits)[0].argmax() != rare and np.asarray(logits)[0, rare] < -15
    model.copy_gate.bias.assign([-20.0])  # p_gen ~ 0: copied from the source
    logits, *_ = model.decode_step(tgt_in[:, 0], state, memory)
    assert np.asarray(logits)[0, rare] > np.log(0.05)
    assert set(np.argsort(-np.asarray(logits)[1])[:2]) == {9, 10}  # row 2's source is [9, 10]


def test_a_config_without_the_new_fields_builds_the_old_model():
    cfg = ModelConfig.from_dict({k: v for k, v in dataclasses.asdict(SMALL).items()
                                 if k not in ("copy", "max_exemplar_len")})
    assert not cfg.copy and cfg.max_exemplar_len == 0 and cfg.max_source_len == SMALL.max_src_len
    assert not hasattr(build_model(cfg), "copy_gate")


def test_the_step_mixture_equals_the_full_one():
    """The decoder step mixes only at the source's words; the full mixture gives the same log p
    everywhere a search could look, with a word repeated in the source and padding."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, SMALL.vocab_size)).astype(np.float32) * 4
    gate = rng.normal(size=(3,)).astype(np.float32)
    ids = np.array([[5, 6, 5, 9, 0], [7, 7, 7, 0, 0], [8, 9, 10, 11, 12]], np.int32)
    weights = rng.random((3, 5)).astype(np.float32) * (ids > 0)
    weights /= weights.sum(-1, keepdims=True)
    full = np.asarray(copy_mixture(logits, gate, weights, ids))
    step = np.asarray(step_copy_mixture(logits, gate, weights, ids))
    likely = full > -30
    assert likely.mean() > 0.9
    np.testing.assert_allclose(step[likely], full[likely], atol=1e-5)
    np.testing.assert_allclose(np.exp(step).sum(-1), 1.0, atol=1e-4)
