"""The message index: which memory replies followed a message like the visitor's."""

import numpy as np

from chatbot.message_match import MessageIndex

MESSAGES = ["do you have any pets?", "what is your favorite food?", "i love hiking in the mountains",
            "do you like pizza?"]


def test_the_same_words_score_highest_and_no_shared_word_scores_zero():
    index = MessageIndex(MESSAGES)
    similar = index.similarities(["do you have pets?", "zebra quantum"])
    assert similar.shape == (2, len(MESSAGES)) and similar.dtype == np.float32
    assert int(np.argmax(similar[0])) == 0
    assert 0.5 < similar[0, 0] <= 1.0 + 1e-6
    assert np.all(similar[1] == 0)


def test_a_message_matches_itself_fully():
    similar = MessageIndex(MESSAGES).similarities(MESSAGES)
    np.testing.assert_allclose(np.diag(similar), 1.0, atol=1e-5)
    assert np.all(similar <= 1.0 + 1e-5)
