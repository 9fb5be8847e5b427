"""The model bundle committed in models/default: it loads, talks, and its card tells the truth."""

import json
import re
from pathlib import Path

import pytest

from chatbot.bot import Bot
from chatbot.decoding import DecodeOptions
from train.model_card import METRIC_KEYS

BUNDLE = Path(__file__).resolve().parents[1] / "models" / "default"


@pytest.fixture(scope="module")
def bot():
    return Bot.load(BUNDLE)


@pytest.fixture(scope="module")
def metrics():
    return json.loads((BUNDLE / "metrics.json").read_text())


def test_bundle_is_small_enough_to_ship():
    total = sum(f.stat().st_size for f in BUNDLE.iterdir() if f.is_file())
    assert total < 25 * 1024 * 1024


def test_replies_are_words_and_differ_by_prompt(bot):
    prompts = ["hi! how is your day going?", "what do you like to do on weekends?",
               "i have a big exam tomorrow", "do you have any pets?", "what music do you like?"]
    replies = [bot.reply([p], DecodeOptions(seed=3)).text for p in prompts]
    for reply in replies:
        words = re.findall(r"[a-z']+", reply.lower())
        assert len(words) >= 2, reply
    assert len(set(replies)) == len(replies)


def test_multi_turn_context_changes_the_reply(bot):
    options = DecodeOptions(mode="beam")
    alone = bot.reply(["why?"], options).text
    with_context = bot.reply(["i love hiking in the mountains", "me too! where do you go?",
                              "why?"], options).text
    assert alone != with_context


def test_beats_the_baseline_and_is_varied(metrics):
    ours, base = metrics["test"], metrics["baseline"]
    assert ours["n"] == base["n"] == 500
    assert ours["perplexity_per_word"] < base["perplexity_per_word"]
    assert ours["distinct_2"] > base["distinct_2"]
    assert ours["unique_reply_ratio"] >= 0.7
    assert ours["top1_reply_share"] <= 0.05


def test_metrics_were_measured_with_the_default_options(metrics):
    decoding = dict(metrics["test"]["decoding"], seed=None)
    assert decoding == DecodeOptions().to_dict()


def test_card_matches_metrics_json(metrics):
    card = (BUNDLE / "MODEL_CARD.md").read_text()
    for key in METRIC_KEYS:
        ours, base = metrics["test"][key], metrics["baseline"][key]
        assert re.search(rf"\| `{key}` \| {ours:.3f} \| {base:.3f} \|", card), key
    assert len(re.findall(r"^\*\*\d+\.\*\*$", card, re.M)) == 20
