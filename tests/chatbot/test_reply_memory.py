"""The reply memory: a scorer's vectors of many replies, searched with one matrix product."""

import numpy as np
import pytest

from chatbot.reply_memory import ReplyMemory, build_memory, distinct_replies
from chatbot.scorer import CompiledScorer
from tests.chatbot.conftest import PAIRS


def test_memory_returns_each_contexts_own_reply_and_survives_saving(trained_scorer, pair_tokenizer, tmp_path):
    scorer = CompiledScorer(trained_scorer)
    memory = build_memory(scorer, pair_tokenizer, [r for _, r in PAIRS])
    memory.save(tmp_path / "memory.npz")
    loaded = ReplyMemory.load(tmp_path / "memory.npz")
    assert loaded.texts == memory.texts
    queries = scorer.contexts([pair_tokenizer.encode(c) for c, _ in PAIRS])
    index, scores = loaded.search(queries, 3)
    assert [loaded.texts[i] for i in index[:, 0]] == [r for _, r in PAIRS]
    assert np.all(np.diff(scores, axis=1) <= 0)  # best first
    exact, _ = memory.search(queries, 3)
    np.testing.assert_array_equal(index, exact)  # int8 storage keeps the ranking


def test_search_with_more_replies_asked_than_stored_returns_all():
    memory = ReplyMemory(["a", "b"], np.eye(2, dtype=np.float32))
    index, scores = memory.search(np.array([[0.2, 0.9]], np.float32), 5)
    assert index.tolist() == [[1, 0]]
    np.testing.assert_allclose(scores, [[0.9, 0.2]])


def test_distinct_replies_drop_repeats_and_replies_too_long(pair_tokenizer):
    texts = ["I have a cat", "i have a cat!", "pizza", "", "pizza with mushrooms " * 10]
    pairs = [(["hi", f"message  {i}"], t) for i, t in enumerate(texts)]
    assert distinct_replies(pairs, pair_tokenizer, 12) == [("I have a cat", "message 0"),
                                                           ("pizza", "message 2")]


def test_the_messages_replies_followed_survive_saving_and_older_files_have_none(tmp_path):
    memory = ReplyMemory(["a", "b"], np.eye(2, dtype=np.float32), ["do you?", "why?"])
    memory.save(tmp_path / "memory.npz")
    assert ReplyMemory.load(tmp_path / "memory.npz").messages == ["do you?", "why?"]
    ReplyMemory(["a", "b"], np.eye(2, dtype=np.float32)).save(tmp_path / "old.npz")
    assert ReplyMemory.load(tmp_path / "old.npz").messages is None


def test_memory_file_with_a_message_too_few_is_refused(tmp_path):
    np.savez(tmp_path / "memory.npz", vectors=np.ones((2, 4), np.int8),
             scale=np.ones((2, 1), np.float32), texts=np.frombuffer(b"a\0b", np.uint8),
             messages=np.frombuffer(b"one", np.uint8))
    with pytest.raises(ValueError, match="1 messages for 2 replies"):
        ReplyMemory.load(tmp_path / "memory.npz")


def test_a_bonus_reorders_the_search():
    memory = ReplyMemory(["a", "b"], np.eye(2, dtype=np.float32))
    index, scores = memory.search(np.array([[0.9, 0.2]], np.float32), 2, np.array([[0.0, 1.0]]))
    assert index.tolist() == [[1, 0]]
    np.testing.assert_allclose(scores, [[1.2, 0.9]])


def test_memory_file_with_mismatched_rows_is_refused(tmp_path):
    np.savez(tmp_path / "memory.npz", vectors=np.ones((2, 4), np.int8),
             scale=np.ones((2, 1), np.float32), texts=np.frombuffer(b"only one", np.uint8))
    with pytest.raises(ValueError, match="1 texts for 2 vectors"):
        ReplyMemory.load(tmp_path / "memory.npz")
