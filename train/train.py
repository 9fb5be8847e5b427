"""Train a Lembra model bundle from a dialogue corpus.

    python -m train.train --corpus chitchat --out models/mine            # the default model
    python -m train.train --corpus chitchat --max-pairs 5000 --epochs 1 --out models/tiny
    python -m train.train --arch baseline --out models/baseline         # the reference peer
    python -m train.train --corpus jsonl --data my_chats.jsonl --out models/mine
    python -m train.train ... --resume                                   # continue after a stop
    python -m train.train --corpus transcripts --from export.jsonl --only-positive \
        --init-from models/default --out models/tuned                     # learn from your chats

Steps: load the corpus -> split by conversation (90/5/5) -> (context, reply) pairs -> a
SentencePiece tokenizer on the training split -> Keras fit with length-bucketed batches,
best-on-validation checkpointing, early stopping and resumable backups -> the bundle directory
(model.keras, tokenizer.model, config.json, manifest.json, history.csv, curves.png,
metrics.json).
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import sys
import time
import warnings
from pathlib import Path

from chatbot.bundle import (
    CONFIG_FILE,
    CURVES_FILE,
    HISTORY_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    TRAIN_CONFIG_FILE,
    is_bundle,
    save_model,
)
from chatbot.config import ConfigError, ModelConfig
from train.config import TrainConfig, configs_from_args, parser
from train.distributed import cluster_task, fit_under_strategy, output_dir

# Keras loads inside the functions that need it, so --help and argument errors are instant.


def log(message: str) -> None:
    print(f"[train] {message}", flush=True)


# -- data ---------------------------------------------------------------------------------------


def load_pairs(train_cfg: TrainConfig, model_cfg: ModelConfig):
    """Corpus -> {split: [(context, reply)]} and the manifest describing it."""
    from train.pairs import backward_pairs, corpus_pairs, drop_generic, recalling

    def no_thumbs_down(conv) -> bool:
        return not any(t.rating == -1 for t in conv.turns)

    shorten = train_cfg.shorten if train_cfg.direction == "forward" else 0.0
    positive_only = train_cfg.corpus == "transcripts" and train_cfg.only_positive
    splits, pairs = corpus_pairs(train_cfg.corpus, train_cfg.data or None, model_cfg.context_turns,
                                 shorten, keep=no_thumbs_down if positive_only else None)
    if train_cfg.max_entropy > 0:
        kept = drop_generic(pairs["train"], train_cfg.max_entropy)
        log(f"dropped {len(pairs['train']) - len(kept)} training pairs whose reply follows many "
            f"different messages (entropy > {train_cfg.max_entropy} nats)")
        pairs["train"] = kept
    if train_cfg.recall and train_cfg.direction == "forward":
        extra = recalling(pairs["train"])
        log(f"{len(extra)} training pairs take up a word of an earlier turn; each is seen "
            f"{train_cfg.recall} more time(s)")
        pairs["train"] = pairs["train"] + extra * train_cfg.recall
    if train_cfg.direction == "backward":
        pairs = {name: backward_pairs(part) for name, part in pairs.items()}
    if train_cfg.init_from and train_cfg.base_mix > 0 and train_cfg.corpus != "chitchat":
        pairs["train"] = mix_base_corpus(pairs["train"], model_cfg, train_cfg)
    if train_cfg.max_pairs and len(pairs["train"]) > train_cfg.max_pairs:
        rng = random.Random(train_cfg.seed)
        pairs["train"] = rng.sample(pairs["train"], train_cfg.max_pairs)
        n_valid = max(50, train_cfg.max_pairs // 20)
        pairs["valid"] = pairs["valid"][:n_valid]
    return splits, pairs


def mix_base_corpus(pairs, model_cfg: ModelConfig, train_cfg: TrainConfig):
    """Fine-tuning mixes in base-corpus pairs (base_mix of the result) so the model keeps what
    it knew; the base corpus is the one named by the parent bundle's manifest."""
    import json

    from train.pairs import corpus_pairs

    manifest = json.loads((Path(train_cfg.init_from) / MANIFEST_FILE).read_text())
    base_pairs = corpus_pairs(manifest["corpus"], manifest.get("path"),
                              model_cfg.context_turns)[1]["train"]
    n_base = int(len(pairs) * train_cfg.base_mix / (1.0 - train_cfg.base_mix))
    rng = random.Random(train_cfg.seed)
    mixed = pairs + rng.sample(base_pairs, min(n_base, len(base_pairs)))
    rng.shuffle(mixed)
    log(f"fine-tuning on {len(pairs)} pairs mixed with {len(mixed) - len(pairs)} base pairs")
    return mixed


def train_texts(splits) -> list[str]:
    return [turn.text for conv in splits["train"] for turn in conv.turns]


def make_tokenizer(train_cfg: TrainConfig, model_cfg: ModelConfig, splits, out: Path):
    from chatbot.bundle import TOKENIZER_FILE
    from chatbot.tokenizer import Tokenizer

    path = out / TOKENIZER_FILE
    if train_cfg.init_from:
        shutil.copyfile(Path(train_cfg.init_from) / TOKENIZER_FILE, path)
    elif not (train_cfg.resume and path.is_file()):
        log(f"training a {model_cfg.vocab_size}-piece SentencePiece tokenizer on the train split")
        Tokenizer.train(train_texts(splits), path, model_cfg.vocab_size)
    tokenizer = Tokenizer(path)
    if model_cfg.max_exemplar_len and tokenizer.exemplar_id is None:
        from chatbot.tokenizer import add_exemplar_piece

        tokenizer = add_exemplar_piece(path, path)
        log(f"the tokenizer gains <ex> as piece {tokenizer.exemplar_id}")
    return tokenizer


def choose_exemplars(train_cfg: TrainConfig, model_cfg: ModelConfig, splits, pairs) -> dict:
    """{split: the example each pair reads} from the scorer and memory of --exemplars-from (or
    --init-from); empty for a model without examples."""
    if not model_cfg.max_exemplar_len:
        return {}
    from chatbot.bot import Bot
    from train.exemplars import Recipe, conversation_keys, exemplars_for

    source = train_cfg.exemplars_from or train_cfg.init_from
    if not source:
        raise ConfigError("--max-exemplar-len needs --exemplars-from (or --init-from): a bundle "
                          "with a scorer and a reply memory")
    bot = Bot.load(source)
    if bot.memory is None:
        raise ConfigError(f"{source}: no scorer and reply memory to choose examples from")
    shorten = train_cfg.shorten if train_cfg.direction == "forward" else 0.0
    recipe = Recipe(alpha=train_cfg.alpha, none_share=train_cfg.no_exemplar, seed=train_cfg.seed)
    out = {}
    for name in ("train", "valid"):
        of_pair, keys = conversation_keys(splits[name], model_cfg.context_turns, shorten)
        start = time.monotonic()
        out[name] = exemplars_for(bot, pairs[name], of_pair, keys, recipe)
        log(f"examples for {len(pairs[name])} {name} pairs in {time.monotonic() - start:.0f} s "
            f"(alpha {recipe.alpha}, none {recipe.none_share})")
    return out


# -- model and fit ------------------------------------------------------------------------------


def mixed_precision_policy(setting: str) -> str | None:
    """The Keras dtype policy for --mixed-precision, or None for plain float32.

    "auto" turns it on with a GPU, and under TensorFlow on a CPU that multiplies bfloat16
    natively (AVX512_BF16 or AMX), where it pays most (see docs/benchmarks.md); elsewhere a
    CPU would only emulate it. float16 under JAX: on a GPU its LSTM runs cuDNN through
    jax.experimental.rnn, which rejects bfloat16 (seen on an H200); Keras adds loss scaling for
    float16 by itself. bfloat16 under TensorFlow, which needs no loss scaling. Either way the
    weights stay float32 and the loss is computed in float32.
    """
    import keras

    backend = keras.backend.backend()
    if setting == "off":
        return None
    if setting == "auto":
        if backend == "jax":
            import jax

            on = jax.devices()[0].platform == "gpu"
        elif backend == "tensorflow":
            import tensorflow as tf

            on = bool(tf.config.list_physical_devices("GPU")) or cpu_has_bfloat16()
        else:
            on = False
        if not on:
            return None
    return "mixed_float16" if backend == "jax" else "mixed_bfloat16"


def cpu_has_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU has bfloat16 instructions (Linux; elsewhere assume not)."""
    try:
        flags = Path(cpuinfo).read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def distribution_strategy():
    """MirroredStrategy over local GPUs, MultiWorkerMirroredStrategy when TF_CONFIG names several
    machines (created first thing: collective ops must be set up before TensorFlow runs any op),
    DataParallel under JAX; None on one device."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if "TF_CONFIG" in os.environ:
            return tf.distribute.MultiWorkerMirroredStrategy()
        if len(tf.config.list_physical_devices("GPU")) > 1:
            return tf.distribute.MirroredStrategy()
    elif keras.backend.backend() == "jax":
        import jax

        if len(jax.devices()) > 1:
            keras.distribution.set_distribution(keras.distribution.DataParallel())
    return None


def distribution_scope(strategy=None):
    """The strategy's scope (variables made in it are mirrored), or a no-op scope."""
    import contextlib

    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def weights_fingerprint(model) -> str:
    """A short hash of every weight, so workers (and a reloaded bundle) can be compared."""
    import hashlib

    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(weight.astype("float32").tobytes())
    return digest.hexdigest()[:16]


def compile_model(model, train_cfg: TrainConfig):
    import keras

    ema = {"use_ema": True, "ema_momentum": train_cfg.ema} if train_cfg.ema > 0 else {}
    model.compile(
        optimizer=keras.optimizers.Adam(train_cfg.learning_rate, clipnorm=train_cfg.clipnorm, **ema),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    return model


def build_or_load(train_cfg: TrainConfig, model_cfg: ModelConfig, vocab_size: int):
    import keras

    from chatbot.model import build_model

    model_cfg = dataclasses.replace(model_cfg, vocab_size=vocab_size)
    model = build_model(model_cfg)
    if train_cfg.init_from:
        parent = keras.models.load_model(Path(train_cfg.init_from) / MODEL_FILE, compile=False)
        transfer_weights(parent, model)
    return compile_model(model, train_cfg), model_cfg


def transfer_weights(parent, model) -> None:
    """The parent's weights into a model that may have more: a vocabulary grown by new pieces
    keeps its old rows (the new ones stay as initialised), and a layer the parent lacks (the copy
    gate) starts from its initialiser."""
    import numpy as np

    # Paired in order: sublayer names (lstm_cell_3) depend on how many models were built first.
    parent_layers = {w.path.split("/")[0] for w in parent.weights}
    added = [w for w in model.weights if w.path.split("/")[0] not in parent_layers]
    kept = [w for w in model.weights if w.path.split("/")[0] in parent_layers]
    for weight in added:
        log(f"new weight {weight.path} {tuple(weight.shape)}: initialised")
    if len(kept) != len(parent.weights):
        raise ConfigError(f"--init-from: the parent has {len(parent.weights)} weights where this "
                          f"model has {len(kept)}")
    for weight, old in zip(kept, parent.weights):
        value = np.asarray(old)
        if tuple(old.shape) != tuple(weight.shape):
            if tuple(old.shape[1:]) != tuple(weight.shape[1:]) or old.shape[0] > weight.shape[0]:
                raise ConfigError(f"--init-from: {weight.path} is {tuple(old.shape)}, "
                                  f"this model needs {tuple(weight.shape)}")
            grown = np.asarray(weight).copy()
            grown[: old.shape[0]] = value
            value = grown
        weight.assign(value)


def learning_rate_at(progress: float, peak: float, warmup: float, cosine: bool) -> float:
    """The learning rate a share `progress` of the way through training."""
    import math

    if warmup > 0 and progress < warmup:
        return peak * max(progress / warmup, 0.01)
    if not cosine:
        return peak
    done = (progress - warmup) / max(1e-9, 1.0 - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, done))))


def count_epochs(history_csv: Path) -> int:
    if not history_csv.is_file():
        return 0
    return max(0, len(history_csv.read_text().strip().splitlines()) - 1)


def callbacks(train_cfg: TrainConfig, out: Path):
    import keras

    from train.callbacks import LearningRateSchedule, TimeBudget

    ckpt = out / "checkpoints"
    if not train_cfg.resume and ckpt.exists():
        shutil.rmtree(ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    if train_cfg.resume:
        done = count_epochs(out / HISTORY_FILE) if (ckpt / "backup").exists() else 0
        log(f"resuming after epoch {done}" if done else "nothing to resume; starting afresh")
    cbs = [
        keras.callbacks.BackupAndRestore(str(ckpt / "backup")),
        keras.callbacks.ModelCheckpoint(str(ckpt / "best.weights.h5"), monitor="val_loss",
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=train_cfg.patience),
        keras.callbacks.CSVLogger(str(out / HISTORY_FILE), append=train_cfg.resume),
    ]
    if keras.backend.backend() == "tensorflow":
        cbs.append(keras.callbacks.TensorBoard(str(out / "logs"), write_graph=False))
    if train_cfg.time_budget_min > 0:
        cbs.append(TimeBudget(train_cfg.time_budget_min))
    if train_cfg.schedule == "cosine" or train_cfg.warmup > 0:
        cbs.append(LearningRateSchedule(train_cfg.learning_rate, train_cfg.warmup,
                                        train_cfg.time_budget_min, train_cfg.epochs,
                                        cosine=train_cfg.schedule == "cosine"))
    return cbs


def batches(data, model_cfg, train_cfg, shuffle):
    import keras

    from train.data import BucketedBatches, tf_dataset

    if keras.backend.backend() == "tensorflow":
        return tf_dataset(data, model_cfg, train_cfg.batch_size, train_cfg.bucketing,
                          shuffle=shuffle, seed=train_cfg.seed)
    return BucketedBatches(data, model_cfg, train_cfg.batch_size, seed=train_cfg.seed,
                           shuffle=shuffle)


def keep_best_weights(model, best: Path, valid, ema: bool) -> None:
    """The best checkpoint's weights; with EMA, fit has left the averaged weights in the model,
    and they stay if their validation loss is lower."""
    if not best.exists():
        return
    if not ema:
        model.load_weights(best)
        return
    averaged = model.get_weights()
    ema_loss = model.evaluate(valid, verbose=0)
    model.load_weights(best)
    best_loss = model.evaluate(valid, verbose=0)
    log(f"validation loss: weight average {ema_loss:.4f}, best checkpoint {best_loss:.4f}")
    if ema_loss < best_loss:
        model.set_weights(averaged)


def run(train_cfg: TrainConfig, model_cfg: ModelConfig) -> Path:
    import keras

    from train.data import encode_pairs
    from train.pairs import write_manifest
    from train.plots import plot_history

    out = output_dir(train_cfg)
    out.mkdir(parents=True, exist_ok=True)
    strategy = distribution_strategy()
    keras.utils.set_random_seed(train_cfg.seed)
    t0 = time.monotonic()
    log(f"loading corpus {train_cfg.corpus!r}")
    splits, pairs = load_pairs(train_cfg, model_cfg)
    counts = {k: len(v) for k, v in pairs.items()}
    log(f"pairs: {counts}")
    if not pairs["train"] or not pairs["valid"]:
        raise ConfigError("the corpus gave no training or validation pairs; is it too small?")
    write_manifest(out / MANIFEST_FILE, train_cfg.corpus, train_cfg.data or None, splits,
                   counts, model_cfg.context_turns)
    tokenizer = make_tokenizer(train_cfg, model_cfg, splits, out)
    exemplars = choose_exemplars(train_cfg, model_cfg, splits, pairs)
    train_data = encode_pairs(pairs["train"], tokenizer, model_cfg, exemplars.get("train"))
    valid_data = encode_pairs(pairs["valid"], tokenizer, model_cfg, exemplars.get("valid"))

    mixed = mixed_precision_policy(train_cfg.mixed_precision)
    if mixed:
        keras.mixed_precision.set_global_policy(mixed)
    with distribution_scope(strategy):
        model, model_cfg = build_or_load(train_cfg, model_cfg, tokenizer.vocab_size)
    if strategy is not None:  # a tf.distribute strategy
        fit_under_strategy(model, strategy)
    (out / CONFIG_FILE).write_text(model_cfg.to_json())
    train_cfg.save(out / TRAIN_CONFIG_FILE)
    log(f"model: {model.count_params():,} parameters, arch={model_cfg.arch}, "
        f"mixed_precision={mixed}, backend={keras.backend.backend()}")

    fit_start = time.monotonic()
    model.fit(
        batches(train_data, model_cfg, train_cfg, shuffle=True),
        validation_data=batches(valid_data, model_cfg, train_cfg, shuffle=False),
        epochs=train_cfg.epochs,
        callbacks=callbacks(train_cfg, out),
        verbose=1 if sys.stdout.isatty() else 2,
    )
    fit_s = time.monotonic() - fit_start
    keep_best_weights(model, out / "checkpoints" / "best.weights.h5",
                      batches(valid_data, model_cfg, train_cfg, shuffle=False), train_cfg.ema > 0)
    keras.mixed_precision.set_global_policy("float32")
    save_model(model, model_cfg, out)
    log(f"weights fingerprint {weights_fingerprint(model)}")
    plot_history(out / HISTORY_FILE, out / CURVES_FILE)
    log(f"trained in {fit_s / 60:.1f} min ({train_data.n_tokens():,} target tokens per epoch); "
        f"bundle at {out} ({(time.monotonic() - t0) / 60:.1f} min in all)")
    return out


def evaluate_after_training(out: Path, train_cfg: TrainConfig) -> None:
    """metrics.json: the test split of the training corpus; for a fine-tuned model also the
    parent's base corpus test split and the parent's own figures, side by side."""
    import json

    from chatbot.bundle import METRICS_FILE
    from train.evaluate import evaluate_bundle

    log("evaluating on the test split")
    # The corpus as given, not as the manifest saved it (a database URL's password is redacted).
    evaluate_bundle(out, split="test", limit=train_cfg.eval_limit, write=True,
                    corpus=(train_cfg.corpus, train_cfg.data or None))
    if not train_cfg.init_from:
        return
    parent = Path(train_cfg.init_from)
    manifest = json.loads((parent / MANIFEST_FILE).read_text())
    base = evaluate_bundle(out, split="test", limit=train_cfg.eval_limit,
                           corpus=(manifest["corpus"], manifest.get("path")))
    metrics = json.loads((out / METRICS_FILE).read_text())
    metrics["base_test"] = base
    parent_metrics = parent / METRICS_FILE
    metrics["parent"] = {
        "path": str(parent),
        "metrics": json.loads(parent_metrics.read_text()) if parent_metrics.is_file() else {},
    }
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2))


GROWABLE = ("copy", "max_exemplar_len")  # what a fine-tune may add to its parent's model


def inherited_config(parent: Path, args) -> ModelConfig:
    """The parent's ModelConfig, plus a copy gate or an example input if the flags ask for them
    (they add weights and a piece; every other model flag is the parent's)."""
    model_cfg = ModelConfig.load(parent / CONFIG_FILE)
    grown = {k: getattr(args, k) for k in GROWABLE if getattr(args, k, None) is not None}
    return dataclasses.replace(model_cfg, **grown) if grown else model_cfg


def main(argv: list[str] | None = None) -> int:
    # Bucketed tf.data pipelines have no known length; Keras warns about that every epoch.
    warnings.filterwarnings("ignore", message=".*ran out of data.*")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    args = parser(__doc__).parse_args(argv)
    try:
        train_cfg, model_cfg = configs_from_args(args)
        if train_cfg.init_from and not is_bundle(train_cfg.init_from):
            raise ConfigError(f"--init-from {train_cfg.init_from}: not a model bundle (needs "
                              "model.keras, tokenizer.model and config.json)")
        if train_cfg.init_from:  # fine-tuning keeps the parent's architecture and tokenizer
            model_cfg = inherited_config(Path(train_cfg.init_from), args)
        out = run(train_cfg, model_cfg)
        import keras

        if not cluster_task()[1]:
            shutil.rmtree(out, ignore_errors=True)
            log(f"worker done; its files in {out} are removed (the chief writes --out)")
        elif train_cfg.eval_limit > 0 and keras.backend.backend() != "tensorflow":
            # Decoding (chatbot.decoding) is TensorFlow: evaluate where it runs.
            log(f"evaluation skipped under {keras.backend.backend()}: run python -m "
                f"train.evaluate --model {out} under TensorFlow")
        elif train_cfg.eval_limit > 0:
            evaluate_after_training(out, train_cfg)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
