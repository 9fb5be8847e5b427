"""Training throughput: length-bucketed batches vs. padding every batch to the maximum length.

    python -m bench.train --json

Same model, same pairs, same batch size, same process. Each variant fits one warm-up epoch
(tracing, caches) and then one timed epoch; throughput counts real target tokens (not padding)
per second, since that is the work that teaches the model anything.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import keras

from chatbot.config import ModelConfig
from chatbot.model import build_model
from chatbot.tokenizer import Tokenizer
from train.config import TrainConfig
from train.data import encode_pairs, tf_dataset
from train.train import compile_model


def load_sample(n_pairs: int, config: ModelConfig):
    from train.corpora import load_corpus
    from train.pairs import make_pairs, split_conversations

    train = split_conversations(load_corpus("chitchat", None))["train"]
    pairs = make_pairs(train, config.context_turns)[:n_pairs]
    texts = [t.text for c in train[:2000] for t in c.turns]
    tok = Tokenizer.train(texts, Path(tempfile.mkdtemp()) / "tok.model", config.vocab_size)
    return encode_pairs(pairs, tok, config), tok.vocab_size


def tokens_per_second(data, config: ModelConfig, batch_size: int, bucketing: bool) -> dict:
    keras.utils.set_random_seed(0)
    model = compile_model(build_model(config), TrainConfig(batch_size=batch_size))
    ds = tf_dataset(data, config, batch_size, bucketing=bucketing, shuffle=True, seed=0)
    model.fit(ds, epochs=1, verbose=0)  # warm-up: trace every shape once
    start = time.perf_counter()
    model.fit(ds, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "tokens_per_s": data.n_tokens() / seconds}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=6000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    config = ModelConfig(vocab_size=4000, dropout=0.0)
    data, vocab = load_sample(args.pairs, config)
    config = dataclasses.replace(config, vocab_size=vocab)
    padded = tokens_per_second(data, config, args.batch_size, bucketing=False)
    bucketed = tokens_per_second(data, config, args.batch_size, bucketing=True)
    result = {
        "pairs": len(data),
        "target_tokens": data.n_tokens(),
        "batch_size": args.batch_size,
        "padded_tokens_per_s": padded["tokens_per_s"],
        "bucketed_tokens_per_s": bucketed["tokens_per_s"],
        "speedup_bucketing": bucketed["tokens_per_s"] / padded["tokens_per_s"],
        "model": dataclasses.asdict(config),
    }
    print(json.dumps(result, indent=2) if args.json else
          f"bucketing {result['speedup_bucketing']:.2f}x "
          f"({result['bucketed_tokens_per_s']:.0f} vs {result['padded_tokens_per_s']:.0f} tokens/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
