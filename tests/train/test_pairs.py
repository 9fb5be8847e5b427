"""The split is stable and by conversation; pairs carry up to K turns of context; the manifest."""

import collections
import hashlib
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from train.corpora import Conversation, Turn, load_jsonl
from train.pairs import (
    SPLITS,
    backward_pairs,
    drop_generic,
    make_pairs,
    recalling,
    reply_entropy,
    split_conversations,
    split_of,
    write_manifest,
)


def conv(conv_id: str, *texts: str) -> Conversation:
    return Conversation(conv_id, tuple(Turn("AB"[i % 2], t) for i, t in enumerate(texts)), "test")


def test_split_of_is_pinned():
    # Changing the rule would silently move test conversations into training: pin it.
    assert [split_of(f"c{i}") for i in (0, 6, 7, 20, 27)] == [
        "train", "test", "test", "valid", "valid"]
    assert split_of("c6", seed="other") == "train"


def test_split_of_matches_its_rule():
    for i in range(200):
        bucket = int(hashlib.sha1(f"lembrac{i}".encode()).hexdigest(), 16) % 100
        expected = "train" if bucket < 90 else "valid" if bucket < 95 else "test"
        assert split_of(f"c{i}") == expected


def test_split_proportions():
    counts = collections.Counter(split_of(f"conversation-{i}") for i in range(20_000))
    assert 0.88 < counts["train"] / 20_000 < 0.92
    assert 0.04 < counts["valid"] / 20_000 < 0.06
    assert 0.04 < counts["test"] / 20_000 < 0.06


@given(st.text(max_size=40), st.text(max_size=10))
def test_split_of_is_deterministic(conv_id, seed):
    assert split_of(conv_id, seed) in SPLITS
    assert split_of(conv_id, seed) == split_of(conv_id, seed)


def test_split_conversations_keeps_order_and_all_splits():
    convs = [conv(f"c{i}", "a", "b") for i in range(30)]
    splits = split_conversations(convs)
    assert list(splits) == ["train", "valid", "test"]
    assert [c.id for c in splits["test"]] == ["c6", "c7"]
    assert [c.id for c in splits["valid"]] == ["c20", "c27"]
    assert sum(len(v) for v in splits.values()) == 30
    assert split_conversations([]) == {"train": [], "valid": [], "test": []}


def test_make_pairs_context_window():
    pairs = make_pairs([conv("x", "a", "b", "c", "d"), conv("y", "e", "f")], context_turns=2)
    assert pairs == [
        (["a"], "b"),
        (["a", "b"], "c"),
        (["b", "c"], "d"),
        (["e"], "f"),
    ]
    assert make_pairs([conv("x", "a", "b", "c")], context_turns=1) == [(["a"], "b"), (["b"], "c")]


def test_make_pairs_skips_empty_targets():
    assert make_pairs([conv("x", "a", " ", "c")], context_turns=3) == [(["a", " "], "c")]


def test_make_pairs_rejects_no_context():
    with pytest.raises(ValueError, match="context_turns"):
        make_pairs([conv("x", "a", "b")], context_turns=0)


@given(st.lists(st.lists(st.text("ab ", min_size=1, max_size=5), max_size=6), max_size=5),
       st.integers(1, 4))
def test_make_pairs_properties(dialogues, k):
    convs = [conv(str(i), *texts) for i, texts in enumerate(dialogues)]
    pairs = make_pairs(convs, k)
    expected = sum(1 for texts in dialogues for t in texts[1:] if t.strip())
    assert len(pairs) == expected
    for context, reply in pairs:
        assert 1 <= len(context) <= k and reply.strip()


def test_write_manifest(tmp_path):
    data = tmp_path / "chats.jsonl"
    data.write_text("".join(json.dumps({"id": f"c{i}", "turns": ["hi", "hello", "bye"]}) + "\n"
                            for i in range(30)))
    splits = split_conversations(load_jsonl(data))
    pairs = {name: len(make_pairs(part, 2)) for name, part in splits.items()}
    out = tmp_path / "manifest.json"
    manifest = write_manifest(out, "jsonl", data, splits, pairs, 2)
    assert json.loads(out.read_text()) == manifest
    assert manifest["corpus"] == "jsonl" and manifest["path"] == str(data)
    assert manifest["files"] == [{"path": str(data), "bytes": data.stat().st_size,
                                  "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}]
    assert manifest["splits"]["test"] == {"conversations": 2, "turns": 6, "pairs": 4}
    assert manifest["splits"]["train"]["conversations"] == 26
    assert manifest["context_turns"] == 2
    assert "sha1" in manifest["split_rule"] and manifest["created_at"].startswith("20")


def test_write_manifest_default_chitchat(tmp_path):
    import chitchat_dataset

    manifest = write_manifest(tmp_path / "m.json", "chitchat", None, {}, {}, 3)
    assert manifest["path"] is None  # portable: load_corpus("chitchat", None) finds the package
    assert [f["path"] for f in manifest["files"]] == [str(chitchat_dataset._PATH)]
    assert len(manifest["files"][0]["sha256"]) == 64
    assert manifest["splits"]["valid"] == {"conversations": 0, "turns": 0, "pairs": 0}


def test_shortened_contexts_read_one_or_two_turns_and_are_stable():
    convs = [conv(f"c{i}", *"abcdefgh") for i in range(40)]
    full = make_pairs(convs, 3)
    short = make_pairs(convs, 3, shorten=0.5)
    assert short == make_pairs(convs, 3, shorten=0.5)
    assert [r for _, r in short] == [r for _, r in full]
    for (c_full, _), (c_short, _) in zip(full, short):
        assert c_short == c_full[len(c_full) - len(c_short):]
    lengths = collections.Counter(len(c) for c, _ in short if len(c) > 0)
    multi = [len(c) for c, _ in full if len(c) > 1]
    cut = sum(1 for (a, _), (b, _) in zip(full, short) if len(b) < len(a))
    assert 0.35 < cut / len(multi) < 0.65
    assert lengths[1] > 40 and lengths[2] > 40  # openers alone would give 40 one-turn contexts


def test_without_shortening_a_one_turn_context_only_opens_a_conversation():
    pairs = make_pairs([conv("x", "a", "b", "c", "d")], 3)
    assert [len(c) for c, _ in pairs] == [1, 2, 3]


def test_replies_that_follow_many_messages_are_dropped():
    pairs = [([f"message {i}"], "Haha!") for i in range(5)]
    pairs += [(["do you cook"], "i love pasta"), (["do you cook?"], "I love pasta.")]
    assert reply_entropy(pairs)["haha"] == pytest.approx(math.log(5))
    assert reply_entropy(pairs)["i love pasta"] == 0.0  # the same message twice
    assert drop_generic(pairs, 1.0) == pairs[5:]


def test_backward_pairs_swap_the_reply_and_the_message_it_answers():
    assert backward_pairs([(["a", "b"], "c")]) == [(["c"], "b")]


def test_recalling_keeps_replies_that_take_up_a_word_from_before_the_last_message():
    filler = [(["hello"], f"plain answer number {i}") for i in range(3000)]
    remembers = (["i am from portugal", "nice, how is it?", "sunny"], "do you miss portugal?")
    echoes = (["i am from portugal", "nice", "portugal is sunny"], "is portugal sunny?")
    one_turn = (["i am from portugal"], "portugal is far")
    got = recalling([*filler, remembers, echoes, one_turn])
    assert got == [remembers]  # not when the last message says it too, nor with one turn
