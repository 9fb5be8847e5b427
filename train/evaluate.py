"""Evaluate a bundle the way users judge a chatbot, plus the classic corpus metrics.

    python -m train.evaluate --model models/default --split test --limit 500 --json

Perplexity is per whitespace word of the reference (total NLL of the reference's tokens, end of
reply included, over its word count), on every pair of the split, so models with different
tokenizers compare fairly. The reply metrics (distinct-n, unique-reply ratio, top-1 reply share)
measure the "i don't know to everything" failure directly. The same `--limit` contexts are drawn
for every model (seeded by position), so two bundles trained on the same corpus are scored on the
same test turns.

The failures users see have their own figures:
- hits_at_1 / hits_at_1_rerank / hits_at_1_pmi / hits_at_1_scorer: how often the true reply
  ranks first among 10 replies of the split (9 drawn at random, fixed seed) by forward
  likelihood / by the rerank score / by log p(reply | context) - log p(reply | empty context) /
  by the relevance scorer alone; chance is 0.1. hits_at_1_of_100_scorer: among 100, on the
  whole split.
- `--baseline retrieval` scores the TF-IDF retrieval bot (train.retrieval_baseline) over the
  bundle's training split on the same figures, so the two can be read side by side.
- truncated_share: replies that reached max_len without ending (shown trimmed);
  exact_cap_share: replies exactly max_tgt_len - 1 pieces long, the length where training used
  to put a fake end of reply.
- greeting_share_short_context: given only the last turn of multi-turn contexts whose last turn
  is not a greeting, how often the reply is one (a short context must not mean "opener").
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chatbot.bundle import MANIFEST_FILE, METRICS_FILE, BundleError
from chatbot.config import ConfigError
from chatbot.options import DecodeOptions
from chatbot.percentile import percentile
from chatbot.tokenizer import normalize
from train import metrics
from train.corpora import redacted

if TYPE_CHECKING:
    from chatbot.bot import Bot

# TensorFlow loads inside the functions that need it, so --help and argument errors are instant.

GREETING = re.compile(r"^\W*(hi+|hey+|hello+|hiya|howdy|yo|sup|greetings|good (morning|afternoon|"
                      r"evening)|(what'?s|whats|wh?ats|wassup) up|how (are|r) (you|u))\b")
RANKED = 10  # replies ranked per context for hits@1


def test_pairs(bundle_dir: Path, split: str, limit: int, context_turns: int,
               corpus: tuple[str, str | None] | None = None):
    """The evaluation pairs of the corpus named by the bundle's manifest (or `corpus`, a
    (name, path) pair), split by the same rule as in training."""
    from train.pairs import corpus_pairs

    if corpus is None:
        manifest = json.loads((bundle_dir / MANIFEST_FILE).read_text())
        corpus = (manifest["corpus"], manifest.get("path"))
    return sample_pairs(corpus_pairs(*corpus, context_turns)[1][split], limit)


def sample_pairs(pairs, limit: int):
    """`limit` of the pairs, the same ones every time (0 = all)."""
    if limit and len(pairs) > limit:
        keep = sorted(random.Random(0).sample(range(len(pairs)), limit))
        pairs = [pairs[i] for i in keep]
    return pairs


def nll_per_word(bot: Bot, pairs, batch_size: int = 64) -> tuple[float, int]:
    """Teacher-forced NLL (nats) of each reference reply, and the references' word count. A
    retrieve-and-refine model reads the best retrieved example, as it does when it serves."""
    from train.data import encode_pairs, pad_batch

    model, cfg, tok = bot.bundle.model, bot.config, bot.tokenizer
    exemplars = bot.exemplars([c for c, _ in pairs]) if bot.refines else None
    data = encode_pairs(pairs, tok, cfg, exemplars)
    total, words = 0.0, 0
    for start in range(0, len(data), batch_size):
        src, tgt = data.source[start:start + batch_size], data.target[start:start + batch_size]
        ended = data.ended[start:start + batch_size]
        (s, t_in), t_out = pad_batch(src, tgt, max(len(x) for x in src), cfg.max_tgt_len, ended)
        logits = np.asarray(model((s, t_in), training=False), np.float64)
        logits -= logits.max(-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        picked = np.take_along_axis(logp, t_out[..., None], -1)[..., 0]
        total -= float((picked * (t_out > 0)).sum())
        words += sum(max(1, len(tok.decode(t).split())) for t in tgt)
    return total, words


def is_greeting(text: str) -> bool:
    return bool(GREETING.match(normalize(text)))


def distractors(n: int, ranked: int, seed: int = 0) -> list[list[int]]:
    """For each of n contexts, the indices of `ranked - 1` other pairs whose replies it is
    ranked against (fixed seed: every model meets the same ones)."""
    rng = random.Random(seed)
    ranked = min(ranked, n)
    return [rng.sample([j for j in range(n) if j != i], ranked - 1) for i in range(n)]


def ranking(bot: Bot, pairs, seed: int = 0, chunk: int = 25) -> dict[str, np.ndarray]:
    """Each rerank term for the true reply (column 0) and 9 other replies of the split, per
    context: arrays (N, RANKED)."""
    ranked = min(RANKED, len(pairs))  # a tiny split ranks fewer
    others = distractors(len(pairs), ranked, seed)
    columns: dict[str, list] = {"forward": [], "length": [], "rerank": []}
    for start in range(0, len(pairs) if ranked > 1 else 0, chunk):
        histories, replies = [], []
        for i in range(start, min(start + chunk, len(pairs))):
            histories += [pairs[i][0]] * ranked
            replies += [pairs[i][1]] + [pairs[j][1] for j in others[i]]
        for key, value in bot.score(histories, replies).items():
            if value is not None:
                columns.setdefault(key, []).append(np.asarray(value).reshape(-1, ranked))
    return {key: np.concatenate(parts) if parts else np.zeros((0, ranked))
            for key, parts in columns.items()}


def scorer_hits(scorer, tokenizer, pairs, limit: int = 0) -> dict:
    """How often the scorer alone (a chatbot.scorer.CompiledScorer) puts the true reply first
    among 10 replies of the split (the same 10 as `hits_at_1`) and among 100."""
    pairs = sample_pairs(pairs, limit)
    cfg = scorer.cfg
    contexts = scorer.contexts([tokenizer.encode_context(c, cfg.context_turns, cfg.max_src_len)
                                for c, _ in pairs])
    replies = scorer.replies([tokenizer.encode(r) for _, r in pairs])
    scores = contexts @ replies.T
    result = {"n": len(pairs)}
    for key, ranked, seed in (("hits_at_1_scorer", RANKED, 0),
                              ("hits_at_1_of_100_scorer", 100, 1)):
        if len(pairs) > 1:
            cols = [[i, *others] for i, others in enumerate(distractors(len(pairs), ranked, seed))]
            result[key] = hits_at_1(np.take_along_axis(scores, np.asarray(cols), 1))
    return result


def hits_at_1(scores: np.ndarray) -> float:
    """Share of rows whose column 0 (the true reply) scores highest."""
    return float(np.mean(np.argmax(scores, -1) == 0)) if len(scores) else 0.0


def greeting_share_short_context(bot: Bot, pairs, options: DecodeOptions) -> float:
    """Greetings among replies to the last turn alone of multi-turn contexts that end in a
    non-greeting."""
    probes = [context[-1:] for context, _ in pairs
              if len(context) >= 2 and not is_greeting(context[-1])]
    replies = [bot.reply(p, options).text for p in probes]
    return sum(map(is_greeting, replies)) / len(replies) if replies else 0.0


def evaluate_bundle(path: str | Path, split: str = "test", limit: int = 500,
                    options: DecodeOptions | None = None, write: bool = False,
                    corpus: tuple[str, str | None] | None = None) -> dict:
    from chatbot.bot import Bot

    path = Path(path)
    bot = Bot.load(path)
    options = options or DecodeOptions(seed=0)
    every_pair = test_pairs(path, split, 0, bot.config.context_turns, corpus)
    pairs = sample_pairs(every_pair, limit)  # the corpus is read once
    if not pairs:
        raise ValueError(f"split {split!r} of {path} has no pairs")
    nll, n_words = nll_per_word(bot, every_pair)
    bot.reply(["warm up"], options)  # trace the decoder before timing
    replies = [bot.reply(context, options) for context, _ in pairs]
    hyps = [r.text for r in replies]
    latencies = [r.latency_ms for r in replies]
    refs = [normalize(reply) for _, reply in pairs]
    ranks = ranking(bot, pairs)
    result = {
        "model_version": bot.version,
        "split": split,
        "corpus": [corpus[0], redacted(corpus[1])] if corpus else None,
        "n": len(pairs),
        "n_perplexity": len(every_pair),
        "decoding": options.to_dict(),
        "perplexity_per_word": metrics.perplexity_per_word(nll, n_words),
        "bleu": metrics.bleu(hyps, refs),
        "distinct_1": metrics.distinct_n(hyps, 1),
        "distinct_2": metrics.distinct_n(hyps, 2),
        "unique_reply_ratio": metrics.unique_reply_ratio(hyps),
        "top1_reply_share": metrics.top1_reply_share(hyps),
        "mean_reply_words": metrics.mean_reply_words(hyps),
        "hits_at_1": hits_at_1(ranks["forward"]),
        "hits_at_1_rerank": hits_at_1(ranks["rerank"]),
        "hits_at_1_pmi": hits_at_1(ranks["forward"] - ranks["prior"]),
        "hits_at_1_scorer": hits_at_1(ranks["fit"]) if "fit" in ranks else None,
        "hits_at_1_of_100_scorer": (scorer_hits(bot.scorer, bot.tokenizer, every_pair)
                                    ["hits_at_1_of_100_scorer"] if bot.scorer else None),
        "truncated_share": sum(not r.finished for r in replies) / len(replies),
        "exact_cap_share": sum(len(r.pieces) == bot.config.max_tgt_len - 1 for r in replies)
        / len(replies),
        "greeting_share_short_context": greeting_share_short_context(bot, pairs, options),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "samples": [{"context": c, "reference": r, "reply": h}
                    for (c, r), h in list(zip(pairs, hyps))[:20]],
    }
    if write:
        file = path / METRICS_FILE
        existing = json.loads(file.read_text()) if file.is_file() else {}
        existing[split] = result
        file.write_text(json.dumps(existing, indent=2))
    return result


def evaluate_baseline(path: str | Path, split: str = "test", limit: int = 500,
                      write: bool = False) -> dict:
    """The retrieval baseline over the bundle's training split, on the bundle's test pairs."""
    from train.retrieval_baseline import RetrievalBot

    path = Path(path)
    context_turns = json.loads((path / MANIFEST_FILE).read_text()).get("context_turns", 3)
    baseline = RetrievalBot.for_bundle(path)
    pairs = test_pairs(path, split, limit, context_turns)
    if not pairs:
        raise ValueError(f"split {split!r} of {path} has no pairs")
    replies = [baseline.reply(context) for context, _ in pairs]
    hyps = [r.text for r in replies]
    ranks = ranking(baseline, pairs)
    result = {
        "system": "retrieval baseline (TF-IDF word 1-2 grams, last message -> reply that followed)",
        "split": split,
        "n": len(pairs),
        "bleu": metrics.bleu(hyps, [normalize(r) for _, r in pairs]),
        "distinct_1": metrics.distinct_n(hyps, 1),
        "distinct_2": metrics.distinct_n(hyps, 2),
        "unique_reply_ratio": metrics.unique_reply_ratio(hyps),
        "top1_reply_share": metrics.top1_reply_share(hyps),
        "mean_reply_words": metrics.mean_reply_words(hyps),
        "hits_at_1": hits_at_1(ranks["rerank"]),
        "truncated_share": 0.0,
        "greeting_share_short_context": greeting_share_short_context(baseline, pairs, None),
        "latency_ms_p50": percentile([r.latency_ms for r in replies], 50),
        "samples": [{"context": c, "reference": r, "reply": h}
                    for (c, r), h in list(zip(pairs, hyps))[:20]],
    }
    if write:
        file = path / METRICS_FILE
        existing = json.loads(file.read_text()) if file.is_file() else {}
        existing[f"retrieval_baseline_{split}"] = result
        file.write_text(json.dumps(existing, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Evaluate a model bundle on a split of its corpus.")
    p.add_argument("--model", required=True, help="bundle directory")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--limit", type=int, default=500, help="number of contexts (0 = all)")
    p.add_argument("--mode", default=None, help="decoding mode: rerank, sample, greedy or beam")
    p.add_argument("--options", default="{}", help='decoding options as JSON, e.g. \'{"max_len": 24}\'')
    p.add_argument("--baseline", choices=("retrieval",), default=None,
                   help="evaluate the TF-IDF retrieval baseline over the bundle's training split "
                        "instead of the model")
    p.add_argument("--write", action="store_true", help="store the result in metrics.json")
    p.add_argument("--json", action="store_true", help="print JSON (default: a short table)")
    args = p.parse_args(argv)
    try:
        options = DecodeOptions.from_dict({"seed": 0, **json.loads(args.options),
                                           **({"mode": args.mode} if args.mode else {})})
        if args.baseline:
            result = evaluate_baseline(args.model, args.split, args.limit, args.write)
        else:
            result = evaluate_bundle(args.model, args.split, args.limit, options, args.write)
    except (BundleError, ConfigError, ValueError, OSError, KeyError) as exc:
        print(f"evaluate: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    else:
        for key, value in result.items():
            if isinstance(value, float):
                print(f"{key:>22}  {value:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
