"""train.exemplars: which example each training pair reads (alpha-blending, no own-conversation
examples, re-sorting by the true reply) and the fine-tune that learns from them."""

import json

import numpy as np

from chatbot.bundle import CONFIG_FILE, MODEL_FILE
from chatbot.tokenizer import Tokenizer
from train.corpora import Conversation, Turn
from train.exemplars import Recipe, choose, conversation_keys, draws


def unit(*rows):
    v = np.asarray(rows, np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_the_shares_of_own_reply_and_no_example_follow_the_recipe():
    kind = draws(20_000, Recipe(alpha=0.4, none_share=0.1, seed=3))
    assert abs(np.mean(kind == 1) - 0.4) < 0.02 and abs(np.mean(kind == 0) - 0.1) < 0.02
    assert np.array_equal(kind, draws(20_000, Recipe(alpha=0.4, none_share=0.1, seed=3)))


def test_a_retrieved_example_is_the_one_closest_to_the_true_reply_and_never_its_own():
    texts = ["i love hiking", "hiking is fun", "i like pizza", "my own reply"]
    vectors = unit([1, 0, 0], [0.9, 0.4, 0], [0, 0, 1], [1, 0.1, 0])
    context = unit([1, 0.05, 0])  # retrieves "my own reply" first, then the hiking ones
    gold = unit([0.8, 0.6, 0])  # closest to "hiking is fun"
    pairs = [(["do you hike?"], "my own reply")]
    recipe = Recipe(alpha=0.0, none_share=0.0, k=3)
    got = choose(pairs, [{"my own reply"}], texts, vectors, context, gold, recipe)
    assert got == ["hiking is fun"]
    got = choose(pairs, [set()], texts, vectors, context, unit([1, 0.1, 0]), recipe)
    assert got == ["my own reply"]  # allowed when not excluded


def test_a_bonus_brings_the_replies_serving_would_retrieve_into_the_candidates():
    texts = ["i love hiking", "i like pizza", "pizza with pineapple"]
    vectors = unit([1, 0, 0], [0, 1, 0], [0, 0.8, 0.6])
    context = unit([1, 0.2, 0])  # by fit alone the top one is hiking
    gold = unit([0, 0.6, 0.8])  # closest to the pineapple reply
    pairs = [(["do you like pizza?"], "pineapple on pizza")]
    recipe = Recipe(alpha=0.0, none_share=0.0, k=1)
    assert choose(pairs, [set()], texts, vectors, context, gold, recipe) == ["i love hiking"]

    def bonus(rows):  # the message match of serving: pizza replies followed pizza messages
        return np.array([[0.0, 0.0, 2.0]] * len(rows), np.float32)

    got = choose(pairs, [set()], texts, vectors, context, gold, recipe, bonus)
    assert got == ["pizza with pineapple"]


def test_alpha_pairs_read_their_own_reply_and_none_pairs_nothing():
    texts, vectors = ["a b c", "d e f"], unit([1, 0], [0, 1])
    pairs = [(["x"], f"reply {i}") for i in range(200)]
    contexts = np.repeat(unit([1, 0]), 200, 0)
    recipe = Recipe(alpha=0.5, none_share=0.25, k=2, seed=1)
    got = choose(pairs, [set()] * 200, texts, vectors, contexts, contexts, recipe)
    kind = draws(200, recipe)
    assert all(g is None for g, k in zip(got, kind) if k == 0)
    assert all(g == p[1] for g, p, k in zip(got, pairs, kind) if k == 1)
    assert all(g == "a b c" for g, k in zip(got, kind) if k == 2)


def test_conversation_keys_cover_every_turn_of_the_pairs_conversation():
    conv = Conversation("c1", (Turn("a", "Hi there!"), Turn("b", "Hello, you."),
                               Turn("a", "How are you?")), "test")
    of_pair, keys = conversation_keys([conv], context_turns=3, shorten=0.0)
    assert of_pair[(("Hi there!", "Hello, you."), "How are you?")] == "c1"
    assert keys["c1"] == {"hi there", "hello you", "how are you"}


def test_the_fine_tune_reads_examples_with_the_copy_gate(refine_bundle, scored_bundle):
    import keras

    cfg = json.loads((refine_bundle / CONFIG_FILE).read_text())
    assert cfg["copy"] is True and cfg["max_exemplar_len"] == 8
    tok = Tokenizer(refine_bundle / "tokenizer.model")
    # A tokenizer trained now has <ex> already (id 5): nothing to grow.
    assert tok.exemplar_id == Tokenizer(scored_bundle / "tokenizer.model").exemplar_id == 5
    model = keras.models.load_model(refine_bundle / MODEL_FILE, compile=False)
    assert model.embedding.embeddings.shape[0] == tok.vocab_size == cfg["vocab_size"]
    assert hasattr(model, "copy_gate")


def test_an_older_tokenizer_gains_ex_last_and_the_model_keeps_its_rows(tmp_path):
    """What fine-tuning the shipped default did: <ex> became piece 8000, every other id the same,
    and the grown model's old rows are the parent's."""
    import dataclasses
    import io

    import sentencepiece as spm

    from chatbot.config import ModelConfig
    from chatbot.model import build_model
    from chatbot.tokenizer import SEP, add_exemplar_piece
    from train.train import transfer_weights

    model = io.BytesIO()
    texts = ["hello how are you", "i like to read books", "where are you from"] * 30
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=model,
                                   vocab_size=40, hard_vocab_limit=False, pad_id=0, unk_id=1,
                                   bos_id=2, eos_id=3, user_defined_symbols=[SEP], minloglevel=2)
    (tmp_path / "old.model").write_bytes(model.getvalue())
    old = Tokenizer(tmp_path / "old.model")
    new = add_exemplar_piece(tmp_path / "old.model", tmp_path / "new.model")
    assert old.exemplar_id is None and new.exemplar_id == old.vocab_size
    assert new.vocab_size == old.vocab_size + 1
    assert new.encode("hello where are you from") == old.encode("hello where are you from")
    small = ModelConfig(vocab_size=old.vocab_size, embed_dim=8, enc_units=4, dropout=0.0)
    parent = build_model(small)
    child = build_model(dataclasses.replace(small, vocab_size=new.vocab_size, copy=True))
    transfer_weights(parent, child)
    table = np.asarray(child.embedding.embeddings)
    assert np.array_equal(table[: old.vocab_size], np.asarray(parent.embedding.embeddings))
    assert np.array_equal(np.asarray(child.attention.w_a), np.asarray(parent.attention.w_a))
