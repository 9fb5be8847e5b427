"""Training throughput: length-planned batches vs. padding every batch to the maximum length.

    python -m bench.train --json

Same model, same pairs, same process. The model is the one `python -m train.train` trains by
default (ModelConfig's defaults: 8000-piece vocabulary, dropout on), and the pairs a seeded random
sample of the training split, so the lengths are the corpus's, not one stretch of it. The sample
is one pool (`POOL_BATCHES x batch_size` pairs, 6400), the set `train.train` sorts and cuts at a
time: a smaller sample would leave the pool part-empty and its batches further apart in length
than training's. Throughput counts real target tokens (not padding) per second, since that is the
work that teaches the model anything. Three variants:

- padded: `batch_size` pairs a step, padded to max_src_len x max_tgt_len;
- bucketed (what `train.train` uses): length-sorted pools cut into batches that each cost at
  most one padded batch, so short pairs travel in larger batches (fairseq's --max-tokens idea);
- bucketed_fixed_batch: the same sorting with exactly `batch_size` pairs a step, to show how
  much of the gain is less padding and how much is larger batches of short pairs.

Each variant gets its own model, traced by a few warm-up steps. Then, each round, every variant's
epoch of batches is made (the input work overlaps the steps in training, through prefetch) and
fitted in slices, a slice of each variant in turn, so the clock counts only train steps and a
slow spell of the shared CPU (they come every few minutes and last about as long as an epoch)
falls on all variants alike instead of on whichever epoch was running. Each variant reports its
median round.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from chatbot.config import ModelConfig
from chatbot.model import build_model
from chatbot.tokenizer import Tokenizer
from train.config import TrainConfig
from train.data import POOL_BATCHES, encode_pairs, tf_dataset
from train.train import compile_model

VARIANTS = {  # name -> tf_dataset options
    "padded": {"bucketing": False},
    "bucketed": {"bucketing": True},
    "bucketed_fixed_batch": {"bucketing": True, "equal_cost": False},
}
SLICES = 10  # each epoch is timed in this many parts, one part of each variant in turn


def load_sample(n_pairs: int, config: ModelConfig, seed: int = 0):
    from train.pairs import corpus_pairs

    splits, by_split = corpus_pairs("chitchat", None, config.context_turns)
    train, pairs = splits["train"], by_split["train"]
    keep = np.random.default_rng(seed).choice(len(pairs), min(n_pairs, len(pairs)), replace=False)
    pairs = [pairs[i] for i in sorted(keep)]
    texts = [t.text for c in train[:2000] for t in c.turns]
    tok = Tokenizer.train(texts, Path(tempfile.mkdtemp()) / "tok.model", config.vocab_size)
    return encode_pairs(pairs, tok, config), tok.vocab_size


def measure(data, config: ModelConfig, batch_size: int, rounds: int) -> dict[str, list[float]]:
    """Tokens/s of each variant, one epoch per round, timed in interleaved slices."""
    runs = {}
    for name, options in VARIANTS.items():
        keras.utils.set_random_seed(0)
        model = compile_model(build_model(config), TrainConfig(batch_size=batch_size))
        ds = tf_dataset(data, config, batch_size, shuffle=True, seed=0, **options)
        model.fit(ds.take(4), epochs=1, verbose=0)  # trace the step function for several shapes
        runs[name] = (model, ds)
    speeds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        epochs = {name: list(ds) for name, (_, ds) in runs.items()}
        elapsed = dict.fromkeys(VARIANTS, 0.0)
        for k in range(SLICES):
            for name, (model, ds) in runs.items():
                batches = epochs[name]
                part = batches[k * len(batches) // SLICES:(k + 1) * len(batches) // SLICES]
                feed = tf.data.Dataset.from_generator(lambda part=part: iter(part),
                                                      output_signature=ds.element_spec)
                start = time.perf_counter()
                model.fit(feed, epochs=1, verbose=0)
                elapsed[name] += time.perf_counter() - start
        for name in VARIANTS:
            speeds[name].append(data.n_tokens() / elapsed[name])
    return speeds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, help="pairs sampled (default: one pool of batches)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    config = ModelConfig()
    data, vocab = load_sample(args.pairs or POOL_BATCHES * args.batch_size, config)
    config = dataclasses.replace(config, vocab_size=vocab)
    speeds = measure(data, config, args.batch_size, args.rounds)
    median = {name: statistics.median(values) for name, values in speeds.items()}
    result = {
        "pairs": len(data),
        "target_tokens": data.n_tokens(),
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        **{f"{name}_tokens_per_s": value for name, value in median.items()},
        "speedup_bucketing": median["bucketed"] / median["padded"],
        "speedup_fixed_batch": median["bucketed_fixed_batch"] / median["padded"],
        "per_round_tokens_per_s": speeds,
        "model": dataclasses.asdict(config),
    }
    print(json.dumps(result, indent=2) if args.json else
          f"bucketing {result['speedup_bucketing']:.2f}x "
          f"({median['bucketed']:.0f} vs {median['padded']:.0f} tokens/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
