""""Why this reply?" data on the tiny trained model: words from pieces, turns, the unseen part,
alternatives and confidence, rerank candidates, and the LSTM numbers obeying the gate equations."""

import json

import numpy as np
import pytest

from chatbot.decoding import DecodeOptions
from chatbot.explanation import (
    UNITS_PER_GATE,
    UNITS_STEPPED,
    moving_units,
    reply_words,
    summary_data,
)
from chatbot.repetition import FUNCTION_WORDS

HISTORY = ["hi there", "hello how are you", "i love cooking pasta on sundays"]


@pytest.fixture(scope="module")
def explained(bot):
    reply = bot.reply(HISTORY, DecodeOptions(mode="greedy"))
    return reply, bot.explain(HISTORY, reply.text)


def test_reply_words_merge_pieces():
    pieces = ["\u2581i", "\u2581don", "'", "t", "\u2581", "know", "\u2581bath", "room", "s", "!"]
    assert reply_words(pieces) == [("i", [0]), ("don't", [1, 2, 3]), ("know", [4, 5]),
                                   ("bathrooms!", [6, 7, 8, 9])]


def test_context_words_carry_turns_and_sum_their_pieces(bot, explained):
    _, ex = explained
    context = ex["words"]["context"]
    assert [w["text"] for w in context] == " ".join(HISTORY).split()
    turns = [w["turn"] for w in context]
    assert turns == ["you"] * 2 + ["lembra"] * 4 + ["you"] * 6
    assert all(w["seen"] for w in context)
    # a context word's attention is the sum over its pieces; separators belong to no word
    source = ex["source"]
    word_of = []
    k = -1
    for piece in source:
        if piece == "<sep>":
            word_of.append(None)
            continue
        k += piece.startswith("\u2581")
        word_of.append(k)
    first = ex["words"]["reply"][0]
    for w in range(len(context)):
        raw = [np.mean([ex["attention"][p][j] for p in first["pieces"]])
               for j, owner in enumerate(word_of) if owner == w]
        assert first["attention"][w] == pytest.approx(sum(raw), abs=2e-3)
    separators = [j for j, owner in enumerate(word_of) if owner is None]
    for word in ex["words"]["reply"]:
        sep_mass = np.mean([sum(ex["attention"][p][j] for j in separators) for p in word["pieces"]])
        assert sum(word["attention"]) + sep_mass == pytest.approx(1.0, abs=5e-3)


def test_only_the_turns_the_model_reads_are_words(bot):
    history = ["one", "two", "three", "four", "five"]
    ex = bot.explain(history, "ok")
    assert [w["text"] for w in ex["words"]["context"]] == history[-bot.config.context_turns:]
    assert ex["words"]["context"][-1]["turn"] == "you"


def test_unknown_characters_are_named(bot):
    ex = bot.explain(["i laughed \U0001F602 so much"], "ok")
    words = {w["text"]: w for w in ex["words"]["context"]}
    assert words["\U0001F602"]["unknown"] == "\U0001F602"
    assert "unknown" not in words["laughed"]


def test_the_part_outside_the_window_is_unseen(bot):
    long = " ".join(f"word{i} and more" for i in range(60))  # far more than max_src_len pieces
    ex = bot.explain([long], "ok")
    context = ex["words"]["context"]
    seen = [w["seen"] for w in context]
    assert not seen[0] and seen[-1]
    assert seen == sorted(seen)  # the cut is from the left: unseen words, then seen ones
    assert ex["summary_data"]["unseen_words"] == seen.count(False) > 0
    assert len(ex["source"]) == bot.config.max_src_len == ex["window"]


def test_alternatives_and_confidence(bot, explained):
    reply, ex = explained
    n = len(ex["reply"])
    assert len(ex["alternatives"]) == len(ex["chosen_p"]) == n
    for piece, options, chosen in zip(ex["reply"], ex["alternatives"], ex["chosen_p"]):
        assert len(options) == 3
        ps = [o["p"] for o in options]
        assert ps == sorted(ps, reverse=True) and all(0 <= p <= 1 for p in ps)
        assert chosen <= ps[0] + 1e-3  # greedy wrote the likeliest piece it was allowed
        text = piece.replace("\u2581", " ").strip()
        if text in [o["text"] for o in options]:
            assert next(o["p"] for o in options if o["text"] == text) == pytest.approx(chosen, abs=1e-3)
    expected = float(np.exp(np.mean(np.log(ex["chosen_p"]))))
    assert ex["confidence"] == pytest.approx(expected, abs=5e-3)
    assert 0 < ex["confidence"] <= 1


def test_summary_names_reply_and_context_words(explained):
    _, ex = explained
    data = ex["summary_data"]
    context = {w["text"].strip("?!.,") for w in ex["words"]["context"]}
    reply = {w["text"].strip("?!.,") for w in ex["words"]["reply"]}
    assert len(data["answered"]) <= 2
    for part in data["answered"]:
        assert part["reply"] in reply and part["context"] in context
        assert part["reply"] not in FUNCTION_WORDS and part["context"] not in FUNCTION_WORDS
        assert 0 < part["share"] <= 1
    if data["barely"]:
        assert data["barely"]["context"] in HISTORY[-1].split()
        assert data["barely"]["context"] not in FUNCTION_WORDS


def test_the_sentence_leaves_function_words_out():
    words = [{"text": t, "turn": "you", "turn_index": 0, "seen": True}
             for t in ("i", "love", "cooking", "pasta")]
    reply = [("i", [0]), ("cook", [1]), ("too", [2])]
    matrix = np.array([[0.9, 0.0, 0.1, 0.0],   # "i" looked at "i": both function words
                       [0.6, 0.1, 0.3, 0.0],   # "cook": most on "i", then "cooking"
                       [0.2, 0.2, 0.2, 0.4]])
    data = summary_data(words, reply, matrix)
    assert data["answered"] == [{"reply": "cook", "context": "cooking", "share": 0.3}]
    assert data["barely"]["context"] in ("love", "pasta")


def test_lstm_numbers_obey_the_gate_equations(explained):
    _, ex = explained
    steps = ex["units"]["steps"]
    n = len(ex["reply"])
    assert len(steps["ids"]) == UNITS_STEPPED
    for u in range(UNITS_STEPPED):
        assert len(steps["cell"][u]) == n + 1  # c_0 (the encoder's) .. c_n
        for t in range(n):
            f, i, g, o = (steps[k][u][t] for k in ("forget", "input", "candidate", "output"))
            c_prev, c = steps["cell"][u][t], steps["cell"][u][t + 1]
            assert c == pytest.approx(f * c_prev + i * g, abs=5e-3)
            assert steps["hidden"][u][t] == pytest.approx(o * np.tanh(c), abs=5e-3)


def test_gate_heatmaps_show_the_units_that_moved_most(bot, explained):
    reply, ex = explained
    source, _ = bot.encode_histories([HISTORY])
    target = np.asarray([bot.tokenizer.encode(reply.text)], np.int32)
    forget = bot.decoder.force(source, target)["forget"].numpy()[0]
    shown = ex["units"]["forget"]
    assert shown["ids"] == moving_units(forget, UNITS_PER_GATE)
    change = np.abs(np.diff(forget, axis=0)).sum(0)
    assert min(change[shown["ids"]]) >= np.sort(change)[-UNITS_PER_GATE] - 1e-6
    assert np.allclose(shown["values"], forget[:, shown["ids"]].T, atol=5e-3)
    for gate in ("forget", "input", "output"):
        assert np.shape(ex["units"][gate]["values"]) == (UNITS_PER_GATE, len(ex["reply"]))


def test_rerank_keeps_its_candidates(bot):
    reply = bot.reply(["do you like music"], DecodeOptions(mode="rerank", seed=3), explain=True)
    candidates = reply.explanation["candidates"]
    chosen = [c for c in candidates if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["text"] == reply.text
    assert [c["score"] for c in candidates if c["finished"]] == sorted(
        [c["score"] for c in candidates if c["finished"]], reverse=True)
    assert len({c["text"] for c in candidates}) == len(candidates)
    assert "candidates" not in bot.reply(["hi"], DecodeOptions(mode="greedy"), explain=True).explanation


def test_payload_stays_small(bot):
    reply = "i " + "really like that a lot and " * 8
    size = len(json.dumps(bot.explain(HISTORY, reply)))
    assert size < 40_000, size
