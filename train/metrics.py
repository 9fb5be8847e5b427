"""Evaluation metrics as pure functions on replies (strings) and numbers.

Perplexity per word exponentiates the reference's total negative log-likelihood over its
whitespace words, so models with different tokenizers compare fairly. BLEU is sacrebleu's corpus
BLEU (Post, 2018). distinct-n (Li et al., 2016) and the reply-diversity numbers measure the
classic seq2seq failure of giving the same dull answer to everything: a model that always says
"i don't know" scores a top-1 reply share of 1.0. Empty inputs give 0.0 rather than an error.
"""

from __future__ import annotations

import math
from collections import Counter


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def perplexity_per_word(total_nll_nats: float, n_words: int) -> float:
    """exp(total NLL / words); inf if that overflows."""
    if n_words <= 0:
        return 0.0
    try:
        return math.exp(total_nll_nats / n_words)
    except OverflowError:
        return math.inf


def bleu(hyps: list[str], refs: list[str]) -> float:
    """Corpus BLEU (0-100) of the replies against one reference each."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    if not hyps:
        return 0.0
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score)


def distinct_n(hyps: list[str], n: int) -> float:
    """Unique n-grams / all n-grams over the lower-cased whitespace tokens of every reply."""
    grams = Counter()
    for hyp in hyps:
        tokens = hyp.lower().split()
        grams.update(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def unique_reply_ratio(hyps: list[str]) -> float:
    """Distinct replies (case and spacing ignored) / replies."""
    return len({_norm(h) for h in hyps}) / len(hyps) if hyps else 0.0


def top1_reply_share(hyps: list[str]) -> float:
    """Share of the replies that are the single most common reply."""
    if not hyps:
        return 0.0
    return Counter(_norm(h) for h in hyps).most_common(1)[0][1] / len(hyps)


def mean_reply_words(hyps: list[str]) -> float:
    return sum(len(h.split()) for h in hyps) / len(hyps) if hyps else 0.0


def word_f1(hyp: str, ref: str) -> float:
    """Unigram F1 of a reply against the true one (ParlAI's F1): the words they share, counted
    with multiplicity, over both lengths; punctuation is not a word."""
    import re

    h, r = (re.findall(r"[\w']+", text.lower()) for text in (hyp, ref))
    common = sum((Counter(h) & Counter(r)).values())
    if not common:
        return 0.0
    precision, recall = common / len(h), common / len(r)
    return 2 * precision * recall / (precision + recall)
