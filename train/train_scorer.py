"""Train a bundle's relevance scorer and build its reply memory.

    python -m train.train_scorer --model models/mine                      # scorer + memory
    python -m train.train_scorer --model models/mine --time-budget-min 45 --resume
    python -m train.train_scorer --model models/tiny --max-pairs 2000 --epochs 2

Reads the corpus and split named by the bundle's manifest, with its tokenizer; the scorer's
embedding starts from the seq2seq model's. Every context is trained against every reply of its
batch (see chatbot.scorer), so larger batches give harder negatives. The run keeps its
checkpoints, resumable backup, history and curves in --work; the bundle gets scorer.keras
(float16 weights), memory.npz (its training replies as scorer vectors), scorer_history.csv and
scorer_curves.png, and metrics.json gains a "scorer" entry: how often the true reply ranks first
among 10 and among 100 test replies.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from chatbot.bundle import (
    CONFIG_FILE,
    MANIFEST_FILE,
    MEMORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    SCORER_CURVES_FILE,
    SCORER_FILE,
    SCORER_HISTORY_FILE,
    TOKENIZER_FILE,
    BundleError,
    check_bundle,
)
from chatbot.config import ConfigError, ModelConfig, ScorerConfig, replace_checked
from chatbot.reply_memory import build_memory, distinct_replies
from chatbot.tokenizer import Tokenizer
from train.config import add_flags

# Keras loads inside the functions that need it, so --help and argument errors are instant.


def log(message: str) -> None:
    print(f"[scorer] {message}", flush=True)


@dataclasses.dataclass(frozen=True)
class ScorerTrainConfig:
    model: str = ""  # the bundle whose tokenizer, split and embedding the scorer shares
    out: str = ""  # where scorer.keras and memory.npz go ("" = the bundle itself)
    work: str = ""  # checkpoints, backup, history ("" = artifacts/scorer-<bundle name>)
    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 2e-3
    clipnorm: float = 1.0
    patience: int = 2
    time_budget_min: float = 0.0
    resume: bool = False
    seed: int = 1234
    max_pairs: int = 0
    mixed_precision: str = "auto"
    shorten: float = 0.4
    max_entropy: float = 1.0
    schedule: str = "cosine"
    warmup: float = 0.02
    valid_pairs: int = 4096
    memory: bool = True
    only_memory: bool = False
    evaluate: bool = True
    eval_limit: int = 0

    def validate(self) -> None:
        if not self.model:
            raise ValueError("--model is required")
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError("epochs must be positive and batch_size at least 2")
        if self.learning_rate <= 0:
            raise ValueError("learning_rate must be positive")
        if self.mixed_precision not in ("auto", "on", "off"):
            raise ValueError("mixed_precision must be auto, on or off")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError("schedule must be cosine or constant")
        if not 0.0 <= self.shorten <= 1.0 or not 0.0 <= self.warmup < 1.0:
            raise ValueError("shorten must be in [0, 1] and warmup in [0, 1)")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True))


HELP = {
    "model": "the bundle to give a scorer (its tokenizer, split and embedding are used)",
    "out": "write scorer.keras and memory.npz here instead of into --model",
    "work": "checkpoints, resumable backup and history (default: artifacts/scorer-NAME)",
    "batch_size": "pairs per step; each context is scored against every reply of its batch",
    "time_budget_min": "stop fitting after this many minutes (0 = no limit)",
    "resume": "continue an interrupted run in --work from its last finished epoch",
    "max_pairs": "use at most this many training pairs (0 = all)",
    "shorten": "share of multi-turn contexts cut to their last one or two turns",
    "max_entropy": "drop pairs whose reply follows many different messages (0 = keep all)",
    "valid_pairs": "validation pairs for the checkpoint's loss",
    "memory": "encode the training replies into memory.npz after training",
    "only_memory": "rebuild memory.npz with the bundle's own scorer; no training",
    "evaluate": "rank test replies after training and record hits@1 in metrics.json",
    "eval_limit": "test contexts for hits@1 after training (0 = the whole test split)",
    "units": "LSTM units per direction on each side",
    "dim": "width of the context and reply vectors",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for group, cls, skip in (("training", ScorerTrainConfig, ()),
                             ("scorer", ScorerConfig, ("vocab_size", "max_src_len",
                                                       "max_tgt_len", "context_turns"))):
        add_flags(p.add_argument_group(group), cls, HELP, skip)
    return p


def configs(args: argparse.Namespace) -> tuple[ScorerTrainConfig, dict]:
    given = {k: v for k, v in vars(args).items() if v is not None}
    train_keys = {f.name for f in dataclasses.fields(ScorerTrainConfig)}
    train = replace_checked(ScorerTrainConfig(), {k: v for k, v in given.items() if k in train_keys})
    return train, {k: v for k, v in given.items() if k not in train_keys}


# -- data ---------------------------------------------------------------------------------------


def load_pairs(bundle: Path, cfg: ScorerTrainConfig, context_turns: int):
    from train.pairs import corpus_pairs, drop_generic

    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    _, pairs = corpus_pairs(manifest["corpus"], manifest.get("path"), context_turns, cfg.shorten)
    train_pairs = pairs["train"]
    if cfg.max_entropy > 0:
        train_pairs = drop_generic(train_pairs, cfg.max_entropy)
    if cfg.max_pairs and len(train_pairs) > cfg.max_pairs:
        train_pairs = random.Random(cfg.seed).sample(train_pairs, cfg.max_pairs)
    return pairs, train_pairs


def encode(pairs, tokenizer: Tokenizer, config: ScorerConfig):
    contexts = [np.asarray(tokenizer.encode_context(c, config.context_turns, config.max_src_len),
                           np.int32) for c, _ in pairs]
    replies = [np.asarray(tokenizer.encode(r)[: config.max_tgt_len] or [tokenizer.unk_id],
                          np.int32) for _, r in pairs]
    return contexts, replies


# -- fit ----------------------------------------------------------------------------------------


def build(bundle: Path, scorer_cfg: ScorerConfig, cfg: ScorerTrainConfig):
    import keras

    import chatbot.model  # noqa: F401  (registers the seq2seq layers)
    from chatbot.scorer import build_scorer

    scorer = build_scorer(scorer_cfg)
    parent = keras.models.load_model(bundle / MODEL_FILE, compile=False)
    scorer.embedding.set_weights(parent.embedding.get_weights())
    scorer.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=cfg.clipnorm))
    return scorer


def save_scorer(scorer, path: Path) -> None:
    """A float16 copy: half the bytes, and scores that differ from float32 in the third digit."""
    from chatbot.scorer import build_scorer

    half = build_scorer(scorer.cfg, dtype="float16")
    half.set_weights([np.asarray(w, np.float32) for w in scorer.get_weights()])
    half.save(path)


def run(cfg: ScorerTrainConfig, overrides: dict) -> dict:
    import keras

    from train.plots import plot_history
    from train.scorer_batches import PairBatches
    from train.train import callbacks, mixed_precision_policy

    if cfg.only_memory:
        return rebuild_memory(cfg)
    bundle = check_bundle(cfg.model)
    out = Path(cfg.out) if cfg.out else bundle
    work = Path(cfg.work) if cfg.work else Path("artifacts") / f"scorer-{bundle.resolve().name}"
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    model_cfg = ModelConfig.load(bundle / CONFIG_FILE)
    tokenizer = Tokenizer(bundle / TOKENIZER_FILE)
    scorer_cfg = ScorerConfig.from_dict({
        "vocab_size": tokenizer.vocab_size, "embed_dim": model_cfg.embed_dim,
        "max_src_len": model_cfg.max_src_len, "max_tgt_len": model_cfg.max_tgt_len,
        "context_turns": model_cfg.context_turns, **overrides})
    keras.utils.set_random_seed(cfg.seed)
    t0 = time.monotonic()
    pairs, train_pairs = load_pairs(bundle, cfg, scorer_cfg.context_turns)
    valid_pairs = pairs["valid"][: cfg.valid_pairs]
    log(f"pairs: train {len(train_pairs)}, valid {len(valid_pairs)}")
    if len(train_pairs) < 2 or len(valid_pairs) < 2:
        raise ConfigError("the corpus gave too few training or validation pairs")
    train_data = PairBatches(*encode(train_pairs, tokenizer, scorer_cfg), cfg.batch_size,
                             cfg.seed, shuffle=True)
    valid_data = PairBatches(*encode(valid_pairs, tokenizer, scorer_cfg), cfg.batch_size,
                             cfg.seed, shuffle=False)
    mixed = mixed_precision_policy(cfg.mixed_precision)
    if mixed:
        keras.mixed_precision.set_global_policy(mixed)
    scorer = build(bundle, scorer_cfg, cfg)
    cfg.save(work / "train_config.json")
    log(f"scorer: {scorer.count_params():,} parameters, mixed_precision={mixed}")
    fit_start = time.monotonic()
    scorer.fit(train_data, validation_data=valid_data, epochs=cfg.epochs,
               callbacks=callbacks(cfg, work), verbose=1 if sys.stdout.isatty() else 2)
    fit_min = (time.monotonic() - fit_start) / 60
    best = work / "checkpoints" / "best.weights.h5"
    if best.exists():
        scorer.load_weights(best)
    keras.mixed_precision.set_global_policy("float32")
    from chatbot.scorer import CompiledScorer, as_float32, build_scorer

    final = build_scorer(scorer_cfg)
    final.set_weights([np.asarray(w, np.float32) for w in scorer.get_weights()])
    save_scorer(final, out / SCORER_FILE)
    for name, target in (("history.csv", SCORER_HISTORY_FILE),):
        shutil.copyfile(work / name, out / target)
    plot_history(out / SCORER_HISTORY_FILE, out / SCORER_CURVES_FILE)
    served = CompiledScorer(as_float32(keras.models.load_model(out / SCORER_FILE,
                                                               compile=False)))
    result = {"fit_minutes": round(fit_min, 1), "train_pairs": len(train_pairs),
              "epochs": count_rows(out / SCORER_HISTORY_FILE)}
    if cfg.memory:
        result["memory_replies"] = write_memory(served, tokenizer, pairs["train"],
                                                model_cfg.max_tgt_len - 1, out / MEMORY_FILE)
    if cfg.evaluate:
        from train.evaluate import scorer_hits

        result.update(scorer_hits(served, tokenizer, pairs["test"], cfg.eval_limit))
        metrics_file = out / METRICS_FILE
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        metrics["scorer"] = result
        metrics_file.write_text(json.dumps(metrics, indent=2))
    log(f"done in {(time.monotonic() - t0) / 60:.1f} min: {json.dumps(result)}")
    return result


def rebuild_memory(cfg: ScorerTrainConfig) -> dict:
    """The memory of a bundle that has a scorer, written again from its training split (older
    memories lack the messages their replies followed)."""
    import keras

    from chatbot.scorer import CompiledScorer, as_float32

    bundle = check_bundle(cfg.model)
    if not (bundle / SCORER_FILE).is_file():
        raise ConfigError(f"{bundle} has no {SCORER_FILE} to encode the memory with")
    out = Path(cfg.out) if cfg.out else bundle
    out.mkdir(parents=True, exist_ok=True)
    model_cfg = ModelConfig.load(bundle / CONFIG_FILE)
    tokenizer = Tokenizer(bundle / TOKENIZER_FILE)
    scorer = CompiledScorer(as_float32(keras.models.load_model(bundle / SCORER_FILE, compile=False)))
    pairs, _ = load_pairs(bundle, cfg, scorer.cfg.context_turns)
    return {"memory_replies": write_memory(scorer, tokenizer, pairs["train"],
                                           model_cfg.max_tgt_len - 1, out / MEMORY_FILE)}


def write_memory(scorer, tokenizer, pairs, max_pieces: int, file: Path) -> int:
    """Every distinct training reply and the message it followed, as the memory's rows."""
    rows = distinct_replies(pairs, tokenizer, max_pieces)
    log(f"encoding {len(rows)} distinct training replies into the memory")
    build_memory(scorer, tokenizer, [r for r, _ in rows], [m for _, m in rows]).save(file)
    return len(rows)


def count_rows(csv: Path) -> int:
    return max(0, len(csv.read_text().strip().splitlines()) - 1) if csv.is_file() else 0


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message=".*PyDataset.*")
    args = parser().parse_args(argv)
    try:
        cfg, overrides = configs(args)
        print(json.dumps(run(cfg, overrides), indent=2))
    except (BundleError, ConfigError, ValueError, OSError, KeyError) as exc:
        print(f"train_scorer: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
