"""The retrieval baseline: the reply that followed the most similar training message."""

import numpy as np
import pytest

from train.retrieval_baseline import RetrievalBot

PAIRS = [
    (["hi there"], "hello! how are you?"),
    (["do you have any pets?"], "yes, a dog named rex."),
    (["what is your favorite food?"], "i love pizza."),
    (["i went hiking with my sister"], "that sounds fun, where did you go?"),
]


def test_answers_with_the_reply_that_followed_the_closest_message():
    bot = RetrievalBot(PAIRS)
    assert bot.reply(["Do you have pets"]).text == "yes, a dog named rex."
    assert bot.reply(["earlier turn", "your favorite food?"]).text == "i love pizza."


def test_ranks_replies_by_their_words_in_common_with_the_last_message():
    bot = RetrievalBot(PAIRS)
    scores = bot.score([["i love hiking"]] * 2, ["hiking is fun", "i have a dog"])["rerank"]
    assert scores.shape == (2,) and np.argmax(scores) == 0


def test_needs_at_least_one_pair():
    with pytest.raises(ValueError, match="at least one"):
        RetrievalBot([([""], "x")])
