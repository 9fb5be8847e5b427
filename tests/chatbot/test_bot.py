"""chatbot.bot with a retrieve-and-refine model: drafts written from retrieved examples, the
opt-in borrowed reply, the stutter veto and the explanation's example (tiny real bundles)."""

import dataclasses

import numpy as np
import pytest

from chatbot.bot import Bot
from chatbot.decoding import DecodeOptions

HISTORY = ["do you like to cook?"]


@pytest.fixture(scope="module")
def refiner(refine_bundle):
    return Bot.load(refine_bundle)


def test_an_older_bundle_reads_no_example(bot):
    assert not bot.refines and bot.exemplars([HISTORY], 3) == [None] * 3
    reply = bot.reply(HISTORY, DecodeOptions(seed=1))
    assert reply.text and reply.exemplar is None and not reply.borrowed


def test_each_best_fit_draft_is_written_from_its_own_retrieved_example(refiner):
    assert refiner.refines
    retrieved = [r["text"] for r in refiner.retrieve(HISTORY, 8)]
    reply = refiner.reply(HISTORY, DecodeOptions(seed=3), explain=True)
    assert reply.text and reply.exemplar in retrieved and not reply.borrowed
    drafts = reply.explanation["candidates"]
    assert {c["exemplar"] for c in drafts} <= set(retrieved)
    assert len({c["exemplar"] for c in drafts}) > 1  # different examples, different drafts
    source = reply.explanation["source"]
    assert "<ex>" in source  # the encoder read the example, <ex>, then the context


@pytest.mark.parametrize("mode", ["greedy", "beam", "sample"])
def test_the_other_modes_take_the_best_example(refiner, mode):
    reply = refiner.reply(HISTORY, DecodeOptions(mode=mode, seed=4))
    assert reply.text and reply.exemplar == refiner.retrieve(HISTORY, 1)[0]["text"]


def test_a_borrowed_reply_needs_the_setting_and_a_fit_beyond_the_margin(refiner):
    options = DecodeOptions(seed=5)
    assert not refiner.reply(HISTORY, options).borrowed
    saved = refiner.weights
    try:
        refiner.weights = dataclasses.replace(saved, borrow_margin=-10.0)  # always beats a draft
        borrowed = refiner.reply(HISTORY, dataclasses.replace(options, borrow=True))
        assert borrowed.borrowed and borrowed.text == refiner.retrieve(HISTORY, 1)[0]["text"]
        refiner.weights = dataclasses.replace(saved, borrow_margin=10.0)  # never does
        assert not refiner.reply(HISTORY, dataclasses.replace(options, borrow=True)).borrowed
    finally:
        refiner.weights = saved


def test_the_explanation_shows_the_example_and_where_each_word_came_from(refiner):
    reply = refiner.reply(HISTORY, DecodeOptions(mode="greedy"))
    ex = refiner.explain(HISTORY, reply.text)
    assert ex["example"]["text"] in [r["text"] for r in refiner.retrieve(HISTORY, 8)]
    words = ex["words"]["reply"]
    assert len(ex["origins"]) == len(words) == len(ex["example"]["attention"])
    assert {o["origin"] for o in ex["origins"]} <= {"written", "example", "you", "lembra"}
    assert all(0.0 < p <= 1.0 for p in ex["p_gen"])
    # Each reply word's attention over the example and over the conversation: at most 1 in all.
    for ex_row, word in zip(ex["example"]["attention"], words):
        assert sum(ex_row) + sum(word["attention"]) <= 1.0 + 1e-3
    assert ex["summary_data"]["example"] is True


def test_a_stutter_is_passed_over_when_another_draft_does_not(refiner):
    from chatbot.bot import Candidate

    tok = refiner.tokenizer
    texts = ["i like to cook and cook", "i like to cook pasta"]
    cands = [Candidate(tok.encode(t), True, len(tok.encode(t))) for t in texts]
    logp = np.zeros((2, 40), np.float32)
    logp[0, 0] = 5.0  # the stutter is the likelier one
    rows, ranking = refiner._rerank([HISTORY], None, cands, 2, logp)
    assert rows == [1] and list(ranking["stutter"]) == [1.0, 0.0]


def test_under_bad_news_no_example_cheers(refiner):
    from chatbot.sentiment import is_cheerful

    examples = refiner.exemplars([["my dog died yesterday"]], 8)
    assert len(examples) == 8 and not any(is_cheerful(t) for t in examples)
    assert refiner._kind_examples(["hello"], ["that's awesome!"]) == ["that's awesome!"]
    assert refiner._kind_examples(["my dog died"], ["that's awesome!", "oh no, i'm sorry"]) == [
        "oh no, i'm sorry"]
