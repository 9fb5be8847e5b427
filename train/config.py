"""The training configuration: one frozen dataclass, filled from the command line.

Model hyperparameters live in chatbot.config.ModelConfig (saved with the model); everything about
how the weights are fitted lives here (saved beside them as train_config.json).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from chatbot.config import ModelConfig, replace_checked

CORPORA = ("chitchat", "cornell", "dailydialog", "jsonl", "transcripts")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    corpus: str = "chitchat"
    data: str = ""  # file/directory of the corpus (--from); transcripts also take a DATABASE_URL
    out: str = "models/tiny"
    max_pairs: int = 0  # 0 = all training pairs
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 2e-3
    clipnorm: float = 1.0
    patience: int = 3
    bucketing: bool = True
    time_budget_min: float = 0.0  # stop after this many minutes of fitting (0 = no limit)
    resume: bool = False
    seed: int = 1234
    mixed_precision: str = "auto"  # auto (on with a GPU or a bfloat16 CPU), on, off
    init_from: str = ""  # fine-tune: start from this bundle's weights and tokenizer
    only_positive: bool = False  # transcripts: keep only conversations with no thumbs-down
    base_mix: float = 0.5  # fine-tune: share of base-corpus pairs mixed in to avoid forgetting
    eval_limit: int = 500
    direction: str = "forward"  # forward p(reply | context); backward p(message | reply), for reranking
    shorten: float = 0.4  # share of multi-turn contexts cut to one or two turns
    max_entropy: float = 1.0  # drop training replies that follow many different messages (0 = keep all)
    schedule: str = "cosine"  # learning rate: cosine (warm-up, then decay to a tenth) or constant
    warmup: float = 0.02  # share of training spent raising the learning rate from zero
    ema: float = 0.0  # keep an exponential moving average of the weights (e.g. 0.999; 0 = off)
    alpha: float = 0.4  # retrieve and refine: share of pairs whose example is their own reply
    no_exemplar: float = 0.1  # retrieve and refine: share of pairs with no example
    exemplars_from: str = ""  # the bundle whose scorer and memory give examples (default: init_from)
    recall: int = 0  # extra copies of the pairs whose reply takes up a word of an earlier turn

    def validate(self) -> None:
        if self.corpus not in CORPORA:
            raise ValueError(f"unknown corpus {self.corpus!r}; choose from {', '.join(CORPORA)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")
        if self.learning_rate <= 0:
            raise ValueError("learning_rate must be positive")
        if not 0.0 <= self.base_mix < 1.0:
            raise ValueError("base_mix must be in [0, 1)")
        if self.mixed_precision not in ("auto", "on", "off"):
            raise ValueError("mixed_precision must be auto, on or off")
        if self.direction not in ("forward", "backward"):
            raise ValueError("direction must be forward or backward")
        if not 0.0 <= self.shorten <= 1.0:
            raise ValueError("shorten must be in [0, 1]")
        if self.max_entropy < 0:
            raise ValueError("max_entropy must be 0 (off) or positive")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError("schedule must be cosine or constant")
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError("warmup must be in [0, 1)")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError("ema must be in [0, 1)")
        if self.recall < 0:
            raise ValueError("recall must be 0 (off) or a positive number of extra copies")
        if not (0.0 <= self.alpha <= 1.0 and 0.0 <= self.no_exemplar <= 1.0
                and self.alpha + self.no_exemplar <= 1.0):
            raise ValueError("alpha and no_exemplar must be shares in [0, 1] summing to at most 1")

    def save(self, path: str | Path) -> None:
        """As JSON beside the weights; a database URL's password is not saved."""
        from train.corpora import redacted

        saved = {**dataclasses.asdict(self), "data": redacted(self.data)}
        Path(path).write_text(json.dumps(saved, indent=2, sort_keys=True))


ARCH_DEFAULTS = {"baseline": {"context_turns": 1, "tie_embeddings": False}}

HELP = {
    "corpus": "which loader reads the data: " + ", ".join(CORPORA),
    "data": "the corpus file or directory (not needed for chitchat); for transcripts, an export "
            ".jsonl or a DATABASE_URL",
    "out": "bundle directory to write (created if missing)",
    "max_pairs": "use at most this many training pairs (0 = all); handy for quick runs",
    "epochs": "passes over the training pairs (early stopping may end sooner)",
    "batch_size": "pairs per gradient step at full length (shorter pairs come in larger batches of equal cost)",
    "learning_rate": "Adam learning rate",
    "clipnorm": "clip each gradient to this norm (keeps LSTM training stable)",
    "patience": "stop after this many epochs without a better validation loss",
    "bucketing": "batch pairs of similar length together (about 1.5x faster than padding to max)",
    "time_budget_min": "stop fitting after this many minutes (0 = no limit)",
    "resume": "continue an interrupted run in --out from its last finished epoch",
    "seed": "random seed for shuffling, sampling and initial weights",
    "mixed_precision": "bfloat16 compute: auto (on with a GPU or a CPU with bfloat16 instructions), on or off",
    "init_from": "fine-tune: start from this bundle's weights, config and tokenizer",
    "only_positive": "transcripts: skip conversations with any thumbs-down",
    "base_mix": "fine-tune: share of base-corpus pairs mixed in so the model does not forget",
    "eval_limit": "test contexts to evaluate after training (0 = skip evaluation)",
    "direction": "forward: reply given context (the chat model); backward: the message given the "
                 "reply (the reranker's companion model)",
    "shorten": "share of multi-turn contexts cut to their last one or two turns, so a short "
               "context does not mean 'conversation opener'",
    "max_entropy": "drop training pairs whose reply follows many different messages (entropy in "
                   "nats, Csaky et al. 2019; 0 = keep all)",
    "schedule": "learning rate schedule: cosine (warm-up, then decay to a tenth over the epochs "
                "or the time budget) or constant",
    "warmup": "share of training spent warming the learning rate up from zero",
    "ema": "exponential moving average of the weights (e.g. 0.999); the bundle keeps the average "
           "or the best checkpoint, whichever has the lower validation loss (0 = off)",
    "alpha": "retrieve and refine: share of training pairs whose example is their own reply "
             "(alpha-blending, Roller et al. 2020)",
    "no_exemplar": "retrieve and refine: share of training pairs shown no example",
    "exemplars_from": "retrieve and refine: the bundle whose scorer and reply memory choose the "
                      "examples (default: --init-from)",
    "recall": "extra copies of the training pairs whose reply takes up a rare word of an earlier "
              "turn that the last message lacks, so the decoder learns to read the whole "
              "conversation (0 = off)",
    "max_exemplar_len": "retrieve and refine: pieces of the example reply the encoder reads "
                        "before the context (0 = no example)",
    "copy": "a copy gate (pointer-generator) that can write words from what the model reads",
    "arch": "attention (Lembra) or baseline (vanilla seq2seq, no attention, single turn)",
    "vocab_size": "SentencePiece vocabulary size",
    "embed_dim": "token embedding width (also the tied output width)",
    "enc_units": "LSTM units per encoder direction; the decoder has twice as many",
    "enc_layers": "stacked bidirectional encoder layers",
    "dropout": "dropout rate on embeddings and LSTM outputs",
    "tie_embeddings": "share the input embedding with the output layer (fewer parameters)",
    "max_src_len": "longest encoder input in tokens (older context is cut from the left)",
    "max_tgt_len": "longest reply in tokens",
    "context_turns": "turns of conversation the encoder reads (1 = last message only)",
}


def parser(description: str) -> argparse.ArgumentParser:
    """One flag per TrainConfig and ModelConfig field, with the defaults shown in --help."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for group, cls in (("training", TrainConfig), ("model", ModelConfig)):
        add_flags(p.add_argument_group(group), cls, HELP, aliases={"data": ["--from"]})
    return p


def add_flags(group, cls, help: dict[str, str], skip=(), aliases=None) -> None:
    """One flag per field of the dataclass `cls` (booleans get --no-...), each defaulting to
    None so that only flags given on the command line override the dataclass's defaults."""
    aliases = aliases or {}
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        flags = ["--" + field.name.replace("_", "-"), *aliases.get(field.name, [])]
        text = f"{help.get(field.name, '')} (default: {field.default})"
        if isinstance(field.default, bool):
            group.add_argument(*flags, default=None, action=argparse.BooleanOptionalAction,
                               help=text)
        else:
            group.add_argument(*flags, dest=field.name, type=type(field.default), default=None,
                               help=text)


def configs_from_args(args: argparse.Namespace) -> tuple[TrainConfig, ModelConfig]:
    """Split parsed flags into the two configs; only flags given on the command line override."""
    given = {k: v for k, v in vars(args).items() if v is not None}
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    train = replace_checked(TrainConfig(), {k: v for k, v in given.items() if k in train_keys})
    model_overrides = {k: v for k, v in given.items() if k not in train_keys}
    arch = model_overrides.get("arch", "attention")
    model = replace_checked(ModelConfig(), {**ARCH_DEFAULTS.get(arch, {}), **model_overrides})
    return train, model
