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

And the training path itself, on the bucketed batches:

- reference: the path before the speed-up (float32, logits at every reply position); the three
  variants above use it;
- default: what `python -m train.train` does by default on this machine (`--mixed-precision auto`:
  bfloat16 matmuls where the CPU has them, float32 weights and loss; logits only at real reply
  positions under TensorFlow).

`--loss-curve STEPS` instead trains the reference and the default path from the same seed on the
same batches, and the reference from a second seed, and prints the loss curves averaged over
windows of 25 steps: the speed-up must train the same model, so the two paths may differ by no
more than two seeds of the same path do.

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
from typing import TYPE_CHECKING

import numpy as np

from chatbot.config import ModelConfig
from chatbot.tokenizer import Tokenizer
from train.config import TrainConfig
from train.train import compile_model, mixed_precision_policy

if TYPE_CHECKING:
    import tensorflow as tf

# TensorFlow loads inside the functions that need it, so --help and argument errors are instant.

VARIANTS = {  # name -> (tf_dataset options, the default training path?)
    "padded": ({"bucketing": False}, False),
    "bucketed": ({"bucketing": True}, False),
    "bucketed_fixed_batch": ({"bucketing": True, "equal_cost": False}, False),
    "default": ({"bucketing": True}, True),
}
SLICES = 10  # each epoch is timed in this many parts, one part of each variant in turn


def load_sample(n_pairs: int, config: ModelConfig, seed: int = 0):
    from train.data import encode_pairs
    from train.pairs import corpus_pairs

    splits, by_split = corpus_pairs("chitchat", None, config.context_turns)
    train, pairs = splits["train"], by_split["train"]
    keep = np.random.default_rng(seed).choice(len(pairs), min(n_pairs, len(pairs)), replace=False)
    pairs = [pairs[i] for i in sorted(keep)]
    texts = [t.text for c in train[:2000] for t in c.turns]
    tok = Tokenizer.train(texts, Path(tempfile.mkdtemp()) / "tok.model", config.vocab_size)
    return encode_pairs(pairs, tok, config), tok.vocab_size


def build(config: ModelConfig, batch_size: int, default_path: bool, seed: int = 0):
    """A compiled model on the default training path or on the reference (float32, dense logits)."""
    import keras

    from chatbot.model import build_model

    policy = mixed_precision_policy(TrainConfig().mixed_precision) if default_path else None
    keras.mixed_precision.set_global_policy(policy or "float32")
    try:
        keras.utils.set_random_seed(seed)
        model = build_model(config)
        model.real_positions_only = default_path and model.real_positions_only
        return compile_model(model, TrainConfig(batch_size=batch_size))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def measure(data, config: ModelConfig, batch_size: int, rounds: int) -> dict[str, list[float]]:
    """Tokens/s of each variant, one epoch per round, timed in interleaved slices."""
    from train.data import tf_dataset

    runs = {}
    for name, (options, default_path) in VARIANTS.items():
        model = build(config, batch_size, default_path)
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
                start = time.perf_counter()
                model.fit(feed(part, ds.element_spec), epochs=1, verbose=0)
                elapsed[name] += time.perf_counter() - start
        for name in VARIANTS:
            speeds[name].append(data.n_tokens() / elapsed[name])
    return speeds


def feed(batches: list, spec) -> tf.data.Dataset:
    import tensorflow as tf

    return tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec)


def step_losses(losses: list[float]):
    """A callback that appends each step's logged loss (the epoch's running mean) to `losses`."""
    import keras

    return keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: losses.append(float(logs["loss"])))


def loss_curves(data, config: ModelConfig, batch_size: int, steps: int, window: int = 25) -> dict:
    """The reference and the default path trained from one seed on the same batches, and the
    reference from another seed: how far two runs of the same path drift apart is the noise the
    difference between the paths is compared with. Keras logs the running mean of an epoch's
    loss, so each window's mean loss comes from the difference of two running sums."""
    from train.data import tf_dataset

    ds = tf_dataset(data, config, batch_size, shuffle=True, seed=0, bucketing=True)
    batches = []
    while len(batches) < steps:
        batches += list(ds)
    batches = batches[:steps]
    runs = {"reference": (False, 0), "default": (True, 0), "reference_seed_1": (False, 1)}
    curves = {}
    for name, (default_path, seed) in runs.items():
        model = build(config, batch_size, default_path, seed)
        losses: list[float] = []
        model.fit(feed(batches, ds.element_spec), epochs=1, verbose=0, callbacks=[step_losses(losses)])
        sums = np.array(losses) * np.arange(1, steps + 1)
        step_loss = np.diff(np.concatenate([[0.0], sums]))
        curves[name] = np.array([step_loss[i:i + window].mean() for i in range(0, steps, window)])
    paths = np.abs(curves["default"] - curves["reference"])
    seeds = np.abs(curves["reference_seed_1"] - curves["reference"])
    return {"steps": steps, "window": window,
            **{f"{k}_loss": [round(float(x), 4) for x in v] for k, v in curves.items()},
            "max_abs_difference": float(paths.max()), "mean_abs_difference": float(paths.mean()),
            "noise_max_abs_difference": float(seeds.max()),
            "noise_mean_abs_difference": float(seeds.mean())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, help="pairs sampled (default: one pool of batches)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--loss-curve", type=int, metavar="STEPS",
                   help="compare the loss curves of the reference and default paths instead")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import keras

    from train.data import POOL_BATCHES

    config = ModelConfig()
    data, vocab = load_sample(args.pairs or POOL_BATCHES * args.batch_size, config)
    config = dataclasses.replace(config, vocab_size=vocab)
    if args.loss_curve:
        result = loss_curves(data, config, args.batch_size, args.loss_curve)
        print(json.dumps(result, indent=2) if args.json else
              f"loss curves differ by at most {result['max_abs_difference']:.3f} nats "
              f"(two seeds of the reference: {result['noise_max_abs_difference']:.3f})")
        return 0
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
        "reference_tokens_per_s": median["bucketed"],
        "speedup_vs_reference": median["default"] / median["bucketed"],
        "default_path": {"mixed_precision": mixed_precision_policy(TrainConfig().mixed_precision),
                         "real_positions_only": keras.backend.backend() == "tensorflow",
                         "backend": keras.backend.backend()},
        "per_round_tokens_per_s": speeds,
        "model": dataclasses.asdict(config),
    }
    print(json.dumps(result, indent=2) if args.json else
          f"default path {result['speedup_vs_reference']:.2f}x the reference "
          f"({median['default']:.0f} vs {median['bucketed']:.0f} tokens/s); bucketing "
          f"{result['speedup_bucketing']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
