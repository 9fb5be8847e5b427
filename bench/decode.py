"""Decoding speed: the naive keras-io loop vs. the compiled decoder, against a roofline bound.

    python -m bench.decode --model models/default --json

Every reply is forced to exactly --tokens generated tokens (min_len = max_len), so all runs do
equal work. The naive baseline is what the keras-io lstm_seq2seq example does: one
`model.predict` call per generated token from Python. The bound is a roofline for one greedy
reply at batch 1: per token, the larger of (multiply-adds / measured matmul FLOP/s) and
(weight bytes read / measured memory bandwidth); at batch 1 the step reads every decoder weight
once, so bytes, not FLOPs, set it. `default_mode_ms_p50` times what the web app does for one
message (the default options: Best fit, a draft per retrieved example, reranked), replies ending
where they end, with each stage's share; `default_mode_without_xla_*` is the same pipeline with
the sampling loop run as a plain graph instead of XLA-compiled, measured in the same run.
`xla_compile_s` is the warm-up's compilation of every shape bucket.

The reply memory's lookup (one context vector against every stored reply vector, then a
partial sort) is timed on the bundle's own memory and on random memories of 100k to 2M
replies of the same width: `memory_lookup_ms_p50` is the 100k figure, and
`memory_lookup_ms_by_size` shows where brute force stops being enough.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chatbot.bundle import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE, is_bundle
from chatbot.options import DecodeOptions
from chatbot.percentile import percentile

if TYPE_CHECKING:
    from chatbot.bot import Bot

# TensorFlow loads inside the functions that need it, so --help and argument errors are instant.

PROMPTS = [
    ["hello there"], ["what do you do for fun on weekends?"], ["i just got back from a trip"],
    ["do you like music", "yes i love it", "what kind?"], ["my cat is sick today"],
    ["have you seen any good movies lately"], ["where did you grow up?"], ["i am so tired"],
]


def naive_reply(bot: Bot, encoder, step, history, n_tokens: int) -> list[int]:
    source, _ = bot.encode_histories([history])
    values, keys, mask, ids, h, c = encoder.predict(source, verbose=0)
    token = np.array([bot.tokenizer.bos_id], np.int32)
    out = []
    for _ in range(n_tokens):
        logits, h, c = step.predict([token, h, c, values, keys, mask, ids], verbose=0)
        logits[:, :5] = -1e9  # specials and eos: force the full length, like min_len does
        token = logits.argmax(-1).astype(np.int32)
        out.append(int(token[0]))
    return out


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def trace_count(bot: Bot) -> int:
    return bot.decoder.trace_count() + (bot.backward.trace_count() if bot.backward else 0)


def p50(xs):
    return percentile(xs, 50)


def p95(xs):
    return percentile(xs, 95)


# -- roofline ---------------------------------------------------------------------------------


def measure_machine(seconds: float = 1.0) -> dict:
    """Matmul FLOP/s (float32, all threads TensorFlow uses) and streaming memory bandwidth."""
    import tensorflow as tf

    n = 1024
    a = tf.random.normal([n, n])
    tf.matmul(a, a)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        tf.matmul(a, a).numpy()
        count += 1
    flops = 2 * n**3 * count / (time.perf_counter() - start)
    big = np.ones(64 * 1024 * 1024 // 4, np.float32)  # 64 MiB, well past the caches
    dst = np.empty_like(big)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        np.copyto(dst, big)
        count += 1
    bandwidth = 2 * big.nbytes * count / (time.perf_counter() - start)  # read + write
    return {"matmul_flops": flops, "memory_bytes_per_s": bandwidth}


def step_cost(bot: Bot, source_len: int) -> dict:
    """Multiply-adds and weight bytes of one decoder step at batch 1."""
    cfg = bot.config
    e, h, v, s = cfg.embed_dim, cfg.dec_units, bot.tokenizer.vocab_size, source_len
    lstm = (e + h) * 4 * h
    attention = (2 * s * h + 2 * h * e) if cfg.arch == "attention" else h * e
    output = e * v + (e * e if cfg.tie_embeddings else 0)  # tied: projection, then E^T
    macs = lstm + attention + output
    weights = lstm + 4 * h + (2 * h * e if cfg.arch == "attention" else h * e) + output + v + e
    return {"macs_per_token": macs, "weight_bytes_per_token": 4 * weights}


# -- the benchmark ----------------------------------------------------------------------------


def default_size_bundle() -> Path:
    """A default-size model with random weights, for machines without a trained bundle."""
    from chatbot.config import ModelConfig
    from chatbot.model import build_model
    from chatbot.tokenizer import Tokenizer
    from train.corpora import load_corpus

    path = Path(tempfile.mkdtemp(prefix="lembra-bench-"))
    texts = [t.text for c in load_corpus("chitchat", None)[:3000] for t in c.turns]
    tok = Tokenizer.train(texts, path / TOKENIZER_FILE, ModelConfig().vocab_size)
    cfg = ModelConfig(vocab_size=tok.vocab_size)
    build_model(cfg).save(path / MODEL_FILE)
    (path / CONFIG_FILE).write_text(cfg.to_json())
    return path


def default_pipeline(bot: Bot, repeats: int) -> dict:
    """The web app's default (Best fit: retrieval, drafts, scorer, choice) for one message at a
    time, replies ending where they end: p50/p95 and each stage's share of the total."""
    default = DecodeOptions(seed=0)
    stages: dict[str, float] = {}
    it = iter(PROMPTS * repeats)
    ms = timed(lambda: bot.reply_batch([next(it)], default, timings=stages), repeats)
    total = sum(stages.values())
    return {"ms_p50": p50(ms), "ms_p95": p95(ms),
            "stage_share": {k: round(v / total, 3) for k, v in stages.items()}}


def run(model_dir: Path, n_tokens: int, repeats: int, naive_repeats: int) -> dict:
    from bench.naive_decoder import NaiveEncoder, NaiveStep
    from chatbot.bot import Bot

    start = time.perf_counter()
    bot = Bot.load(model_dir)
    load_s = time.perf_counter() - start
    compile_s = bot.decoder.warm_up()
    warm_shapes = len(bot.decoder.compiled_shapes)
    forced = {"min_len": n_tokens, "max_len": n_tokens, "no_repeat_ngram": 0}
    greedy = DecodeOptions(mode="greedy", **forced)
    beam4 = DecodeOptions(mode="beam", beam_width=4, **forced)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(repeats)]
    batch16 = [PROMPTS[i % len(PROMPTS)] for i in range(16)]
    default = DecodeOptions(seed=0)  # what the web app does: rerank of sampled candidates
    for options in (greedy, beam4, default):  # trace once, outside the timings
        bot.reply(prompts[0], options)
    bot.reply_batch(batch16, greedy)
    traced = trace_count(bot)

    encoder, step = NaiveEncoder(bot.bundle.model), NaiveStep(bot.bundle.model)
    naive_reply(bot, encoder, step, prompts[0], 2)
    naive = timed(lambda: naive_reply(bot, encoder, step, prompts[0], n_tokens), naive_repeats)
    it = iter(prompts * 3)
    greedy_ms = timed(lambda: bot.reply(next(it), greedy), repeats)
    beam_ms = timed(lambda: bot.reply(next(it), beam4), repeats)
    batch1_s = sum(greedy_ms) / 1000.0 / repeats
    batch16_ms = timed(lambda: bot.reply_batch(batch16, greedy), max(3, repeats // 4))
    batch16_rps = 16 / (p50(batch16_ms) / 1000.0)
    compiled = default_pipeline(bot, repeats)
    # The baseline, in the same run: the same loop as a plain graph, without XLA.
    graph_bot = Bot.load(model_dir, xla=False)
    graph_bot.reply(prompts[0], default)
    graph = default_pipeline(graph_bot, repeats)
    del graph_bot

    source_len = int(np.mean([len(bot.encode_histories([p])[1][0]) for p in PROMPTS]))
    machine = measure_machine()
    cost = step_cost(bot, source_len)
    per_token_s = max(cost["macs_per_token"] * 2 / machine["matmul_flops"],
                      cost["weight_bytes_per_token"] / machine["memory_bytes_per_s"])
    bound_ms = per_token_s * n_tokens * 1000.0
    greedy_p50 = p50(greedy_ms)
    return {
        "model": str(model_dir),
        "model_version": bot.version,
        "tokens_per_reply": n_tokens,
        "naive_ms_p50": p50(naive), "naive_ms_p95": p95(naive),
        "greedy_ms_p50": greedy_p50, "greedy_ms_p95": p95(greedy_ms),
        "beam4_ms_p50": p50(beam_ms), "beam4_ms_p95": p95(beam_ms),
        "load_s": load_s, "xla_compile_s": compile_s,
        "xla_shapes": len(bot.decoder.compiled_shapes),
        "default_mode": default.mode,
        "default_mode_ms_p50": compiled["ms_p50"], "default_mode_ms_p95": compiled["ms_p95"],
        "default_mode_stage_share": compiled["stage_share"],
        "default_mode_without_xla_ms_p50": graph["ms_p50"],
        "default_mode_without_xla_ms_p95": graph["ms_p95"],
        "default_mode_without_xla_stage_share": graph["stage_share"],
        "batch1_replies_per_s": 1.0 / batch1_s,
        "batch16_replies_per_s": batch16_rps,
        "batch16_over_batch1": batch16_rps * batch1_s,
        "speedup_greedy_vs_naive": p50(naive) / greedy_p50,
        "bound_ms": bound_ms,
        "greedy_over_bound": greedy_p50 / bound_ms,
        **cost, **machine,
        "retraces_during_timing": trace_count(bot) - traced,
        "xla_compiles_during_timing": len(bot.decoder.compiled_shapes) - warm_shapes,
        **memory_lookup(bot, repeats),
    }


MEMORY_SIZES = (100_000, 500_000, 1_000_000, 2_000_000)


def memory_lookup(bot: Bot, repeats: int) -> dict:
    """Search times of the reply memory (top 8), and of the whole retrieval with the context's
    encoding, on the bundle's memory; then on random memories of growing size."""
    from chatbot.reply_memory import ReplyMemory

    rng = np.random.default_rng(0)
    dim = bot.scorer.cfg.dim if bot.scorer else 128
    query = rng.normal(size=(1, dim)).astype(np.float32)
    out: dict = {"memory_dim": dim}
    if bot.memory is not None:
        bot.retrieve(PROMPTS[0])
        it = iter(PROMPTS * repeats)
        out["memory_replies"] = len(bot.memory)
        out["memory_search_ms_p50"] = p50(timed(lambda: bot.memory.search(query, 8), repeats))
        out["retrieve_ms_p50"] = p50(timed(lambda: bot.retrieve(next(it)), repeats))
    by_size = {}
    for size in MEMORY_SIZES:
        vectors = rng.normal(size=(size, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        memory = ReplyMemory([""] * size, vectors)
        memory.search(query, 8)
        by_size[str(size)] = p50(timed(lambda m=memory: m.search(query, 8), max(5, repeats // 4)))
        del memory, vectors
    out["memory_lookup_ms_p50"] = by_size[str(MEMORY_SIZES[0])]
    out["memory_lookup_ms_by_size"] = by_size
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/default",
                   help="bundle directory; a random default-size model if it does not exist")
    p.add_argument("--tokens", type=int, default=24, help="generated tokens per reply")
    p.add_argument("--repeats", type=int, default=40)
    p.add_argument("--naive-repeats", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    model_dir = Path(args.model)
    if not is_bundle(model_dir):
        print(f"bench: no bundle at {model_dir}; using a random default-size model",
              file=sys.stderr)
        model_dir = default_size_bundle()
    result = run(model_dir, args.tokens, args.repeats, args.naive_repeats)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>28}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
