"""Metrics on hand-checked examples, against numpy and sacrebleu, and on empty input."""

import math

import pytest
import sacrebleu
from hypothesis import given
from hypothesis import strategies as st

from train import metrics


def test_perplexity_per_word():
    assert metrics.perplexity_per_word(0.0, 5) == 1.0
    assert metrics.perplexity_per_word(10 * math.log(50), 10) == pytest.approx(50.0)
    assert metrics.perplexity_per_word(1e6, 1) == math.inf
    assert metrics.perplexity_per_word(3.0, 0) == 0.0


def test_bleu():
    same = ["the cat sat on the mat"]
    assert metrics.bleu(same, same) == pytest.approx(100)
    assert metrics.bleu(["hello there friend"], ["completely unrelated words here"]) == 0.0
    hyps, refs = ["i am fine thank you", "it is a nice day"], ["i am fine thanks", "a nice day"]
    assert metrics.bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert 0 < metrics.bleu(hyps, refs) < 100
    assert metrics.bleu([], []) == 0.0
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        metrics.bleu(["a", "b"], ["a"])


def test_distinct_n():
    hyps = ["I do not know", "i do not KNOW", "yes"]
    # unigrams: i do not know (x2) yes -> 5 unique of 9; bigrams: 3 unique of 6
    assert metrics.distinct_n(hyps, 1) == pytest.approx(5 / 9)
    assert metrics.distinct_n(hyps, 2) == pytest.approx(3 / 6)
    assert metrics.distinct_n(["one two three"], 4) == 0.0
    assert metrics.distinct_n([], 1) == 0.0


def test_dull_bot_is_caught():
    dull = ["I don't know."] * 9 + ["i  DON'T know."]
    assert metrics.unique_reply_ratio(dull) == 0.1
    assert metrics.top1_reply_share(dull) == 1.0
    varied = ["hi", "hello", "hey there", "hi"]
    assert metrics.unique_reply_ratio(varied) == 0.75
    assert metrics.top1_reply_share(varied) == 0.5


def test_mean_reply_words():
    assert metrics.mean_reply_words(["a b c", " d ", ""]) == pytest.approx(4 / 3)


def test_empty_inputs():
    for fn in (metrics.unique_reply_ratio, metrics.top1_reply_share, metrics.mean_reply_words):
        assert fn([]) == 0.0


@given(st.lists(st.text(" abc", max_size=12), max_size=20))
def test_ratios_are_bounded(hyps):
    for value in (metrics.distinct_n(hyps, 1), metrics.distinct_n(hyps, 2),
                  metrics.unique_reply_ratio(hyps), metrics.top1_reply_share(hyps)):
        assert 0.0 <= value <= 1.0
    if hyps:
        assert metrics.top1_reply_share(hyps) >= 1 / len(hyps)


def test_word_f1():
    from train.metrics import word_f1

    assert word_f1("I love hiking!", "i love hiking") == 1.0
    assert word_f1("hiking", "i love hiking") == 0.5  # precision 1, recall 1/3
    assert word_f1("pizza", "i love hiking") == 0.0 and word_f1("", "hi") == 0.0
