"""chatbot.bot with a retrieve-and-refine model: drafts written from retrieved examples, the
opt-in borrowed reply, the stutter veto and the explanation's example (tiny real bundles)."""

import dataclasses

import numpy as np
import pytest

from chatbot.bot import Bot
from chatbot.bundle import load_bundle
from chatbot.decoding import DecodeOptions
from chatbot.reply_memory import text_key
from chatbot.rerank import RerankWeights

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
    rows, ranking = refiner._rerank([HISTORY], cands, 2, logp)
    assert rows == [1] and list(ranking["stutter"]) == [1.0, 0.0]


def test_under_bad_news_no_example_cheers(refiner):
    from chatbot.sentiment import is_cheerful

    examples = refiner.exemplars([["my dog died yesterday"]], 8)
    assert len(examples) == 8 and not any(is_cheerful(t) for t in examples)
    ordinary = refiner.exemplars([["hello"]], 3)  # not bad news: the best, filtered by nothing
    assert ordinary == [r["text"] for r in refiner.retrieve(["hello"], 3)]


@pytest.fixture(scope="module")
def matching(refine_bundle):
    """The refine bundle with a message-similarity weight far above the fit's."""
    bundle = load_bundle(refine_bundle)
    weights = dataclasses.replace(bundle.rerank or RerankWeights(), fit=1.0, match=1000.0)
    return Bot(dataclasses.replace(bundle, rerank=weights))


def test_without_a_match_weight_no_message_index_is_built(refiner):
    assert refiner.memory.messages is not None and refiner.weights.match == 0.0
    assert refiner.matcher is None


def test_examples_are_replies_that_followed_a_message_like_the_visitors(matching):
    memory = matching.memory
    assert matching.matcher is not None
    from chatbot.support import ORDINARY, classify

    ordinary = [m for m in memory.messages if len(m.split()) >= 4 and classify(m) == ORDINARY]
    for message in ordinary[:5]:  # (under bad news a cheerful example would be left out)
        example = matching.exemplars([[message]], 1)[0]
        assert text_key(memory.messages[memory.texts.index(example)]) == text_key(message)
        assert matching.retrieve([message], 1)[0]["text"] == example
        reply = matching.reply([message], DecodeOptions(seed=0), explain=True)
        drafts = reply.explanation["candidates"]
        assert reply.exemplar in {d["exemplar"] for d in drafts}


def test_under_bad_news_a_kind_reply_is_the_first_example(refine_bundle):
    from chatbot.reply_memory import ReplyMemory

    bundle = load_bundle(refine_bundle)
    texts = ["that's awesome!", "i like pizza", "i'm so sorry to hear that", "cool, what kind?"]
    vectors = np.random.default_rng(0).normal(size=(4, bundle.memory.vectors.shape[1]))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    memory = ReplyMemory(texts, vectors.astype(np.float32), ["hi", "pizza?", "my cat died", "i got a dog"])
    kind = Bot(dataclasses.replace(bundle, memory=memory))
    assert kind.kind.tolist() == [0.0, 0.0, 1.0, 0.0]
    assert kind.exemplars([["my dog died yesterday"]], 1) == ["i'm so sorry to hear that"]
    ordinary = kind.exemplars([["do you like pizza?"]], 4)
    assert ordinary == [r["text"] for r in kind.retrieve(["do you like pizza?"], 4)]
