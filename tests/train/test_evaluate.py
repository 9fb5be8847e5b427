"""Evaluation figures for the failures users see, and choosing the rerank weights."""

import json
import shutil

import numpy as np
import pytest

from chatbot.bundle import BACKWARD_FILE, RERANK_FILE, TOKENIZER_FILE
from chatbot.decoding import DecodeOptions
from chatbot.rerank import RerankWeights
from train.evaluate import evaluate_bundle, hits_at_1, is_greeting
from train.evaluate import main as evaluate_main
from train.rerank import best_weights
from train.rerank import main as rerank_main


@pytest.mark.parametrize("text", ["hi!", "Hey there", "hello :)", "heyyy how are you",
                                  "Good morning!", "whats up?", "what's up man", "how are you?"])
def test_greetings(text):
    assert is_greeting(text)


@pytest.mark.parametrize("text", ["this is great", "history is fun", "i'm good, you?", "yoga",
                                  "goodbye", "high five", "how about you?"])
def test_not_greetings(text):
    assert not is_greeting(text)


def test_hits_at_1_counts_rows_where_the_first_column_wins():
    scores = np.array([[3.0, 1.0, 2.0], [0.0, 1.0, -1.0], [5.0, 4.0, 4.5], [1.0, 2.0, 0.0]])
    assert hits_at_1(scores) == 0.5


def test_best_weights_finds_the_backward_term_when_it_tells_replies_apart():
    rng = np.random.default_rng(0)
    forward = rng.normal(size=(200, 10))  # uninformative
    backward = rng.normal(size=(200, 10))
    backward[:, 0] += 3.0  # the true reply explains the message
    length = rng.integers(2, 20, size=(200, 10)).astype(float)
    weights, hits = best_weights({"forward": forward, "backward": backward, "length": length})
    assert weights.backward >= 1.0 and hits > 0.7
    without, hits_fw = best_weights({"forward": forward, "length": length})
    assert without.backward == 0.0 and hits_fw < 0.5


@pytest.fixture(scope="module")
def reranked(tiny_bundle, tmp_path_factory):
    """The tiny bundle with itself as backward model: the mechanics, not the quality."""
    path = tmp_path_factory.mktemp("reranked") / "bundle"
    shutil.copytree(tiny_bundle, path)
    assert rerank_main(["--model", str(path), "--backward", str(tiny_bundle),
                        "--contexts", "30"]) == 0
    return path


def test_rerank_attaches_the_backward_model_and_writes_weights(reranked, capsys):
    assert (reranked / BACKWARD_FILE).is_file()
    weights = RerankWeights.load(reranked / RERANK_FILE)
    assert weights.backward in (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)


def test_rerank_keeps_the_bundles_match_and_consensus_weights_unless_given(reranked, tmp_path, capsys):
    path = tmp_path / "bundle"
    shutil.copytree(reranked, path)
    assert rerank_main(["--model", str(path), "--contexts", "20", "--match", "5", "--consensus", "7"]) == 0
    weights = RerankWeights.load(path / RERANK_FILE)
    assert (weights.match, weights.consensus) == (5.0, 7.0)
    assert rerank_main(["--model", str(path), "--contexts", "20"]) == 0
    weights = RerankWeights.load(path / RERANK_FILE)
    assert (weights.match, weights.consensus) == (5.0, 7.0)
    capsys.readouterr()
    for flag in ("--match", "--consensus"):
        assert rerank_main(["--model", str(path), flag, "-1"]) == 2
        assert capsys.readouterr().err.strip() == f"rerank: error: {flag} must not be negative"


def test_rerank_refuses_a_backward_model_with_another_tokenizer(tiny_bundle, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(tiny_bundle, other)
    (other / TOKENIZER_FILE).write_bytes((other / TOKENIZER_FILE).read_bytes() + b"x")
    assert rerank_main(["--model", str(tiny_bundle), "--backward", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rerank: error:") and "tokenizer" in err and "\n" not in err


def test_evaluate_reports_every_figure(reranked):
    result = evaluate_bundle(reranked, "test", 12, DecodeOptions(seed=0, candidates=3))
    for key in ("hits_at_1", "hits_at_1_rerank", "hits_at_1_pmi", "truncated_share",
                "exact_cap_share",
                "greeting_share_short_context", "unique_reply_ratio", "top1_reply_share"):
        assert 0.0 <= result[key] <= 1.0, key
    assert result["n"] == 12 and result["n_perplexity"] > 1000  # perplexity on the whole split
    assert result["perplexity_per_word"] > 1.0
    assert result["hits_at_1_scorer"] is None  # no scorer in this bundle
    json.dumps(result)


def test_best_weights_finds_the_fit_and_prior_terms_when_they_tell_replies_apart():
    rng = np.random.default_rng(1)
    prior = rng.normal(size=(300, 10)) * 3
    forward = prior + rng.normal(size=(300, 10))  # likelihood dominated by the generic prior
    forward[:, 0] += 1.0
    fit = rng.normal(size=(300, 10)) * 0.1
    fit[:, 0] += 0.12
    length = np.full((300, 10), 8.0)
    weights, hits = best_weights({"forward": forward, "length": length, "fit": fit,
                                  "prior_head": prior})
    assert weights.fit > 0 and weights.prior > 0 and weights.backward == 0.0
    assert hits > hits_at_1(forward) + 0.2


def test_evaluate_retrieval_baseline_on_the_same_figures(tiny_bundle, capsys):
    assert evaluate_main(["--model", str(tiny_bundle), "--baseline", "retrieval", "--limit", "15",
                          "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 15 and result["system"].startswith("retrieval baseline")
    for key in ("hits_at_1", "bleu", "distinct_1", "unique_reply_ratio",
                "greeting_share_short_context"):
        assert result[key] >= 0.0, key


def test_a_split_smaller_than_ten_ranks_what_it_has(tiny_bundle):
    from chatbot.bot import Bot
    from train.evaluate import ranking

    pairs = [(["hi"], "hello"), (["do you cook"], "i love pasta"), (["bye"], "see you")]
    ranks = ranking(Bot.load(tiny_bundle), pairs)
    assert ranks["forward"].shape == (3, 3)
    assert ranking(Bot.load(tiny_bundle), pairs[:1])["forward"].shape == (0, 1)


def test_fixed_weights_are_kept_and_the_rest_searched():
    from train.rerank import parse_fixed

    rng = np.random.default_rng(2)
    forward = rng.normal(size=(200, 10))
    fit = rng.normal(size=(200, 10)) * 0.1
    fit[:, 0] += 0.2
    length = rng.integers(2, 20, size=(200, 10)).astype(float)
    ranks = {"forward": forward, "length": length, "fit": fit, "prior_head": forward * 0}
    weights, _ = best_weights(ranks, parse_fixed("length=0.5, prior=0"))
    assert (weights.length, weights.prior) == (0.5, 0.0) and weights.fit > 0
    for bad in ("speed=1", "length=fast", "length"):
        with pytest.raises(ValueError, match="--fixed"):
            parse_fixed(bad)


def test_the_borrow_margin_is_the_one_whose_shown_replies_match_the_true_ones_best():
    from train.rerank import best_margin

    references = ["i love hiking", "pizza with cheese", "yes"]
    drafts = [("i like it", 0.2), ("pizza with cheese", 0.3), ("yes", 0.5)]
    retrieved = [("i love hiking too", 0.6), ("no", 0.45), ("maybe", 0.55)]
    margin, table = best_margin(drafts, retrieved, references)
    # Borrowing only the first (gain 0.4) is best: margins 0.15 to 0.3 do that; the largest wins.
    assert margin == 0.3 and table[margin]["borrowed_share"] == 1 / 3
    assert table[0.0]["f1"] < table[margin]["f1"] and table[0.5]["f1"] < table[margin]["f1"]


def test_rerank_chooses_a_borrow_margin_with_a_scorer(scored_bundle, tmp_path, capsys):
    import shutil

    path = tmp_path / "bundle"
    shutil.copytree(scored_bundle, path)
    capsys.readouterr()
    assert rerank_main(["--model", str(path), "--contexts", "20", "--borrow-contexts", "6"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["borrow_contexts"] == 6 and str(result["borrow_margin"]) in result["borrow_table"]
    assert RerankWeights.load(path / RERANK_FILE).borrow_margin == result["borrow_margin"]


def test_rerank_chooses_kappa_by_the_word_f1_of_the_replies_shown(scored_bundle, tmp_path, capsys):
    path = tmp_path / "bundle"
    shutil.copytree(scored_bundle, path)
    capsys.readouterr()
    assert rerank_main(["--model", str(path), "--contexts", "20", "--borrow-contexts", "0",
                        "--consensus-contexts", "6"]) == 0
    result = json.loads(capsys.readouterr().out)
    table = result["consensus_table"]
    assert result["consensus_contexts"] == 6 and set(table) == {"0.0", "160.0", "640.0", "2560.0"}
    assert table["0.0"]["changed"] == 0
    best = max(table.values(), key=lambda row: row["f1"])["f1"]
    assert table[str(result["consensus"])]["f1"] == best
    assert RerankWeights.load(path / RERANK_FILE).consensus == result["consensus"]
    # A kappa given on the command line is kept, not searched.
    assert rerank_main(["--model", str(path), "--contexts", "20", "--borrow-contexts", "0",
                        "--consensus", "5", "--consensus-contexts", "6"]) == 0
    assert "consensus_table" not in json.loads(capsys.readouterr().out)
    assert RerankWeights.load(path / RERANK_FILE).consensus == 5.0
