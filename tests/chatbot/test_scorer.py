"""The relevance scorer: a dual encoder that learns which reply belongs to which context."""

import keras
import numpy as np

from chatbot.config import ScorerConfig
from chatbot.scorer import CompiledScorer, as_float32, build_scorer
from tests.chatbot.conftest import PAIRS


def test_vectors_have_unit_length_and_padding_does_not_change_them(pair_tokenizer):
    scorer = CompiledScorer(build_scorer(ScorerConfig(vocab_size=pair_tokenizer.vocab_size,
                                                      embed_dim=8, units=8, dim=8)))
    ids = [pair_tokenizer.encode("i have a cat"), pair_tokenizer.encode("pizza with mushrooms and cheese")]
    vectors = scorer.replies(ids)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    alone = scorer.replies(ids[:1])  # padded to its own length, not to the longer row's
    np.testing.assert_allclose(alone[0], vectors[0], atol=1e-5)


def test_untrained_scorer_cannot_tell_the_pairs_apart(pair_tokenizer):
    """The control for the test below: chance is 1 in 8."""
    keras.utils.set_random_seed(3)
    scorer = CompiledScorer(build_scorer(ScorerConfig(vocab_size=pair_tokenizer.vocab_size,
                                                      embed_dim=16, units=16, dim=16)))
    assert _hits(scorer, pair_tokenizer) < 0.75


def test_trained_scorer_ranks_each_contexts_own_reply_first(trained_scorer, pair_tokenizer):
    assert _hits(CompiledScorer(trained_scorer), pair_tokenizer) == 1.0


def _hits(scorer, tokenizer) -> float:
    c = scorer.contexts([tokenizer.encode(c) for c, _ in PAIRS])
    r = scorer.replies([tokenizer.encode(r) for _, r in PAIRS])
    return float(np.mean(np.argmax(c @ r.T, axis=1) == np.arange(len(PAIRS))))


def test_float16_copy_scores_like_the_original(trained_scorer, pair_tokenizer, tmp_path):
    half = build_scorer(trained_scorer.cfg, dtype="float16")
    half.set_weights(trained_scorer.get_weights())
    half.save(tmp_path / "scorer.keras")
    loaded = as_float32(keras.models.load_model(tmp_path / "scorer.keras", compile=False))
    assert loaded.dtype_policy.name == "float32"
    ids = [pair_tokenizer.encode(c) for c, _ in PAIRS]
    np.testing.assert_allclose(CompiledScorer(loaded).contexts(ids),
                               CompiledScorer(trained_scorer).contexts(ids), atol=2e-2)


