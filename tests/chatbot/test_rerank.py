"""Rerank mode: sampled candidates, scored by the forward and backward models (MMI)."""

import dataclasses
import shutil

import keras
import numpy as np
import pytest

from chatbot.bot import Bot
from chatbot.bundle import BACKWARD_FILE, RERANK_FILE, bundle_version
from chatbot.config import ModelConfig
from chatbot.decoding import DecodeOptions
from chatbot.model import build_model
from chatbot.rerank import RerankWeights, agreement

HISTORY = ["do you have any pets"]
OPTIONS = DecodeOptions(mode="rerank", candidates=6, seed=11, temperature=1.0, top_p=1.0)


@pytest.fixture(scope="module")
def rerank_bundle(random_bundle, tmp_path_factory):
    path = tmp_path_factory.mktemp("rerank") / "bundle"
    shutil.copytree(random_bundle, path)
    keras.utils.set_random_seed(1)
    build_model(ModelConfig.load(path / "config.json")).save(path / BACKWARD_FILE)
    RerankWeights(backward=0.5, length=0.5).save(path / RERANK_FILE)
    return path


@pytest.fixture()
def bot(rerank_bundle):
    bot = Bot.load(rerank_bundle)
    bias = np.zeros(bot.config.vocab_size, np.float32)
    bias[bot.tokenizer.eos_id] = 2.5  # most candidates end, at different lengths
    bot.decoder.model.output_bias.assign(bias)
    return bot


def sampled(bot):
    """The candidates rerank mode draws: the same seed gives the same samples."""
    source, _ = bot.encode_histories([HISTORY])
    rows = bot.decoder.run(np.repeat(source, OPTIONS.candidates, 0),
                           dataclasses.replace(OPTIONS, mode="sample"))["tokens"]
    out = []
    for row in rows.tolist():
        ids = row[: row.index(bot.tokenizer.eos_id)] if bot.tokenizer.eos_id in row else None
        if ids:
            out.append(ids)
    return out


def backward_logp(bot, reply_ids):
    """log p(message | reply) straight from the backward model's logits."""
    message = bot.tokenizer.encode(HISTORY[-1])
    t_in = np.array([[bot.tokenizer.bos_id, *message]], np.int32)
    logits = np.asarray(bot.bundle.backward((np.array([reply_ids], np.int32), t_in)), np.float64)[0]
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    return float(sum(logp[t, tok] for t, tok in enumerate([*message, bot.tokenizer.eos_id])))


def test_the_bundle_loads_its_backward_model_and_weights(rerank_bundle):
    bot = Bot.load(rerank_bundle)
    assert bot.backward is not None
    assert bot.weights == RerankWeights(backward=0.5, length=0.5)


def test_the_version_changes_with_the_rerank_weights(rerank_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(rerank_bundle, copy)
    before = bundle_version(copy)
    RerankWeights(backward=1.0, length=0.0).save(copy / RERANK_FILE)
    assert bundle_version(copy) != before


def test_a_large_length_weight_picks_the_longest_finished_candidate(bot):
    candidates = sampled(bot)
    assert len({len(c) for c in candidates}) > 1
    bot.weights = RerankWeights(backward=0.0, length=100.0)
    assert len(bot.reply(HISTORY, OPTIONS).pieces) == max(len(c) for c in candidates)
    bot.weights = RerankWeights(backward=0.0, length=-100.0)
    assert len(bot.reply(HISTORY, OPTIONS).pieces) == min(len(c) for c in candidates)


def test_a_large_backward_weight_picks_the_reply_that_best_explains_the_message(bot):
    candidates = sampled(bot)
    best = max(candidates, key=lambda ids: backward_logp(bot, ids))
    assert len({round(backward_logp(bot, ids), 3) for ids in candidates}) > 1
    bot.weights = RerankWeights(backward=1e6, length=0.0)  # an untrained model barely tells them apart
    assert bot.reply(HISTORY, OPTIONS).pieces == bot.tokenizer.pieces(best)


def test_score_reports_each_term(bot):
    scores = bot.score([HISTORY, HISTORY], ["i have a cat", "good morning"])
    assert scores["forward"].shape == scores["backward"].shape == (2,)
    assert np.all(scores["forward"] < 0) and np.all(scores["backward"] < 0)
    np.testing.assert_allclose(
        scores["rerank"], scores["forward"] + 0.5 * scores["backward"] + 0.5 * scores["length"])


def test_without_a_backward_model_rerank_still_answers(random_bundle):
    bot = Bot.load(random_bundle)
    assert bot.backward is None
    assert bot.reply(HISTORY, OPTIONS).text


def test_the_sampler_records_what_scoring_would_compute(bot):
    """Rerank sums the sampler's own log-probabilities instead of scoring each candidate again."""
    source, _ = bot.encode_histories([HISTORY])
    rows = np.repeat(source, 4, 0)
    out = bot.decoder.run(rows, dataclasses.replace(OPTIONS, mode="sample"))
    ids = [row[: list(row).index(bot.tokenizer.eos_id) + 1] if bot.tokenizer.eos_id in row else row
           for row in out["tokens"].tolist()]
    t_in = np.zeros((4, max(map(len, ids))), np.int32)
    t_out = np.zeros_like(t_in)
    for r, row in enumerate(ids):
        t_in[r, : len(row)] = [bot.tokenizer.bos_id, *row[:-1]]
        t_out[r, : len(row)] = row
    scored = bot.decoder.score(rows, t_in, t_out).numpy()
    recorded = [out["logp"][r, : len(row)].sum() for r, row in enumerate(ids)]
    np.testing.assert_allclose(recorded, scored, atol=1e-3)


def test_a_cheerful_candidate_is_passed_over_under_bad_news(tiny_bundle):
    """Given the same candidates and scores, the cheerful one wins after ordinary news and loses
    after bad news; when every candidate is cheerful, one is still shown."""
    from chatbot.bot import Candidate

    bot = Bot.load(tiny_bundle)
    texts = ["that's awesome!", "oh no, is she okay?"]
    cands = [Candidate(ids, True, len(ids)) for ids in map(bot.tokenizer.encode, texts)] * 2
    logp = np.zeros((4, 40), np.float32)
    logp[[0, 2], 0] = 5.0  # the forward model likes the cheerful one best
    bot.weights = RerankWeights(backward=0.0, length=0.0)
    histories = [["i got a new puppy"], ["my grandmother is in the hospital"]]
    rows, ranking = bot._rerank(histories, cands, 2, logp)
    assert rows == [0, 3]
    assert ranking["cheerful"].tolist() == [0.0, 0.0, 1.0, 0.0]
    rows, _ = bot._rerank([histories[1]], [cands[0], cands[0]], 2, logp[:2])
    assert rows[0] in (0, 1)


@pytest.fixture()
def scorer_bot(tiny_bundle, tmp_path):
    """The tiny bundle with an untrained relevance scorer (and no memory)."""
    from chatbot.bundle import SCORER_FILE
    from chatbot.config import ScorerConfig
    from chatbot.scorer import build_scorer

    path = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, path)
    keras.utils.set_random_seed(4)
    build_scorer(ScorerConfig(vocab_size=Bot.load(path).tokenizer.vocab_size, embed_dim=8,
                              units=8, dim=8)).save(path / SCORER_FILE)
    return Bot.load(path)


def test_large_fit_and_prior_weights_pick_what_those_terms_prefer(scorer_bot):
    """With a scorer in the bundle, the candidate of highest fit wins under a huge fit weight;
    under a huge prior weight, the one the model finds least likely after nothing."""
    from chatbot.bot import Candidate

    bot = scorer_bot
    texts = ["i like pizza", "good morning", "i have a cat", "yes"]
    cands = [Candidate(ids, True, len(ids)) for ids in map(bot.tokenizer.encode, texts)]
    logp = np.zeros((4, 40), np.float32)
    fit = bot.fit([HISTORY] * 4, [c.ids for c in cands])
    prior = bot._prior(cands, 4)
    bot.weights = RerankWeights(backward=0.0, length=0.0, fit=1e6)
    assert bot._rerank([HISTORY], cands, 4, logp)[0] == [int(np.argmax(fit))]
    bot.weights = RerankWeights(backward=0.0, length=0.0, prior=1e6)
    assert bot._rerank([HISTORY], cands, 4, logp)[0] == [int(np.argmin(prior))]
    assert len(set(np.round(fit, 5))) > 1 and len(set(np.round(prior, 3))) > 1


def test_the_match_term_adds_the_examples_message_similarity(tmp_path):
    weights = RerankWeights(backward=0.0, length=0.0, match=2.0)
    total = weights.combine([1.0, 1.0], None, [0, 0], match=[0.1, 0.5])
    np.testing.assert_allclose(total, [1.2, 2.0])
    (tmp_path / "old.json").write_text('{"backward": 0.5, "length": 0.5}')
    assert RerankWeights.load(tmp_path / "old.json").match == 0.0
    weights.save(tmp_path / "new.json")
    assert RerankWeights.load(tmp_path / "new.json") == weights


def test_agreement_is_each_drafts_mean_cosine_to_the_others_of_its_group():
    vectors = np.array([[1, 0], [1, 0], [0, 1], [3, 4], [3, 4], [-3, -4]], np.float32)
    np.testing.assert_allclose(agreement(vectors, 3), [0.5, 0.5, 0.0, 0.0, 0.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(agreement(vectors, 1), np.zeros(6))
    weights = RerankWeights(backward=0.0, length=0.0, consensus=3.0)
    np.testing.assert_allclose(weights.combine([1.0, 1.0], None, [0, 0], agreement=[0.5, -1.0]), [2.5, -2.0])


def test_the_consensus_term_picks_the_draft_the_others_agree_with(scorer_bot, tmp_path):
    from chatbot.bot import Candidate

    bot = scorer_bot
    texts = ["i like pizza", "i like pizza a lot", "i really like pizza", "the stock market crashed"]
    cands = [Candidate(ids, True, len(ids)) for ids in map(bot.tokenizer.encode, texts)]
    logp = np.zeros((4, 40), np.float32)
    agreed = agreement(bot.scorer.replies([c.ids for c in cands]), 4)
    bot.weights = RerankWeights(backward=0.0, length=0.0, consensus=1e6)
    assert bot._rerank([HISTORY], cands, 4, logp)[0] == [int(np.argmax(agreed))]
    bot.weights = RerankWeights(backward=0.0, length=0.0, consensus=-1e6)
    assert bot._rerank([HISTORY], cands, 4, logp)[0] == [int(np.argmin(agreed))]
    assert len(set(np.round(agreed, 5))) > 1
    (tmp_path / "old.json").write_text('{"backward": 0.5, "length": 0.5}')
    assert RerankWeights.load(tmp_path / "old.json").consensus == 0.0
