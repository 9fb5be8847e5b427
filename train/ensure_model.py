"""Used by `make run`: print the bundle to serve, training a tiny one first if none exists.

Progress goes to stderr; the chosen directory is the only thing written to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from chatbot.bundle import is_bundle
from chatbot.config import AppConfig

TINY = Path("models/tiny")
TINY_ARGS = ["--corpus", "chitchat", "--max-pairs", "5000", "--epochs", "1",
             "--eval-limit", "0", "--out", str(TINY)]
# The smallest model the pipeline trains for real, in seconds: the tests' fixture and the
# hostile benchmark's (no --out: each adds its own).
TEST_MODEL_ARGS = [
    "--corpus", "chitchat", "--max-pairs", "400", "--epochs", "2", "--batch-size", "32",
    "--vocab-size", "300", "--embed-dim", "24", "--enc-units", "24", "--dropout", "0.0",
    "--learning-rate", "0.01", "--eval-limit", "0", "--seed", "7",
]


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m train.ensure_model",
        description="Print the model bundle `make run` serves (LEMBRA_MODEL_DIR, else models/tiny), "
                    "training the tiny one first when neither exists.").parse_args(argv)
    config = AppConfig.from_env()
    wanted = Path(config.model_dir)
    for path in (wanted, TINY):
        if is_bundle(path):
            print(f"[lembra] serving the model bundle in {path}", file=sys.stderr)
            print(path)
            return 0
    print(f"[lembra] no model bundle in {wanted}: training a tiny one into {TINY} "
          "(5,000 pairs, 1 epoch; about 2-3 minutes on 2 CPU cores) ...", file=sys.stderr)
    start = time.monotonic()
    from train.train import main as train_main  # Keras loads only when there is training to do

    sys.stdout, real_stdout = sys.stderr, sys.stdout
    try:
        code = train_main(TINY_ARGS)
    finally:
        sys.stdout = real_stdout
    if code:
        return code
    print(f"[lembra] tiny model trained in {time.monotonic() - start:.0f} s", file=sys.stderr)
    print(TINY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
