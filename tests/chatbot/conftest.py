"""An untrained bundle (real tokenizer, random weights): enough to test decoding mechanics fast."""

import keras
import pytest

from chatbot.config import ModelConfig
from chatbot.model import build_model
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
