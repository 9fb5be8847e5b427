"""An untrained bundle (real tokenizer, random weights): enough to test decoding mechanics fast;
and a tiny relevance scorer fitted on eight pairs."""

import keras
import numpy as np
import pytest

from chatbot.config import ModelConfig, ScorerConfig
from chatbot.model import build_model
from chatbot.scorer import build_scorer
from chatbot.tokenizer import Tokenizer

SENTENCES = [
    "hello how are you", "i am fine thanks", "what do you like to do", "i like to read books",
    "where are you from", "i live near the mountains", "do you have any pets", "i have a cat",
    "what is your favorite food", "pizza is my favorite", "good morning", "have a nice day",
] * 20


@pytest.fixture(scope="session")
def random_bundle(tmp_path_factory):
    path = tmp_path_factory.mktemp("random_bundle")
    tok = Tokenizer.train(SENTENCES, path / "tokenizer.model", vocab_size=80)
    cfg = ModelConfig(vocab_size=tok.vocab_size, embed_dim=16, enc_units=16, dropout=0.0)
    keras.utils.set_random_seed(0)
    build_model(cfg).save(path / "model.keras")
    (path / "config.json").write_text(cfg.to_json())
    return path


PAIRS = [
    ("do you have any pets", "i have a cat named tom"),
    ("what is your favorite food", "pizza with mushrooms"),
    ("where are you from", "i live near the mountains"),
    ("what do you like to do", "i like to read books at night"),
    ("good morning", "morning! did you sleep well"),
    ("what music do you like", "mostly jazz and some rock"),
    ("do you play any sports", "i play soccer on sundays"),
    ("what is the weather like", "it is raining all day here"),
]


@pytest.fixture(scope="session")
def pair_tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("scorer_tok") / "tokenizer.model"
    return Tokenizer.train([t for pair in PAIRS for t in pair] * 30, path, vocab_size=90)


@pytest.fixture(scope="session")
def trained_scorer(pair_tokenizer):
    """A tiny scorer fitted on the eight pairs until it tells them apart."""
    keras.utils.set_random_seed(3)
    cfg = ScorerConfig(vocab_size=pair_tokenizer.vocab_size, embed_dim=16, units=16, dim=16,
                       dropout=0.0)
    scorer = build_scorer(cfg)
    scorer.compile(optimizer=keras.optimizers.Adam(0.01))
    contexts = _pad([pair_tokenizer.encode(c) for c, _ in PAIRS])
    replies = _pad([pair_tokenizer.encode(r) for _, r in PAIRS])
    scorer.fit((contexts, replies), np.zeros(len(PAIRS)), batch_size=len(PAIRS), epochs=150,
               verbose=0, shuffle=False)
    return scorer


def _pad(rows):
    out = np.zeros((len(rows), max(map(len, rows))), np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out
