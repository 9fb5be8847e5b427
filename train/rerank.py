"""Add a backward model to a bundle and choose its rerank weights on the validation split.

    python -m train.train --direction backward --init-from models/mine --out models/mine-bw
    python -m train.rerank --model models/mine --backward models/mine-bw

The backward model p(message | reply) is copied into the bundle as backward.keras; the weights
lambda (backward) and gamma (per piece) of the rerank score are those under which the true reply
ranks first among 10 validation replies most often (see `train.evaluate.ranking`), and are
written to rerank.json. Both models must share one tokenizer.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from chatbot.bot import Bot
from chatbot.bundle import BACKWARD_FILE, MODEL_FILE, RERANK_FILE, TOKENIZER_FILE, BundleError
from chatbot.rerank import RerankWeights
from train.evaluate import hits_at_1, ranking, test_pairs
from train.pairs import sha256_file

BACKWARD_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
LENGTH_GRID = (-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def best_weights(ranks: dict[str, np.ndarray]) -> tuple[RerankWeights, float]:
    """The grid point with the highest hits@1 (ties: the smaller weights)."""
    best, best_hits = RerankWeights(0.0, 0.0), -1.0
    backward = ranks.get("backward")
    for lam, gamma in itertools.product(BACKWARD_GRID if backward is not None else (0.0,),
                                        LENGTH_GRID):
        weights = RerankWeights(lam, gamma)
        hits = hits_at_1(weights.combine(ranks["forward"], backward, ranks["length"]))
        if hits > best_hits + 1e-9:
            best, best_hits = weights, hits
    return best, best_hits


def attach_backward(bundle: Path, backward: Path) -> None:
    if sha256_file(bundle / TOKENIZER_FILE) != sha256_file(backward / TOKENIZER_FILE):
        raise BundleError(f"{backward} has another tokenizer than {bundle}; train it with "
                          f"--init-from {bundle}")
    shutil.copyfile(backward / MODEL_FILE, bundle / BACKWARD_FILE)


def tune(bundle: Path, contexts: int) -> dict:
    bot = Bot.load(bundle)
    pairs = test_pairs(bundle, "valid", contexts, bot.config.context_turns)
    ranks = ranking(bot, pairs)
    weights, hits = best_weights(ranks)
    weights.save(bundle / RERANK_FILE)
    return {"backward": weights.backward, "length": weights.length, "contexts": len(pairs),
            "valid_hits_at_1": hits_at_1(ranks["forward"]), "valid_hits_at_1_rerank": hits}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the (forward) bundle to complete")
    p.add_argument("--backward", help="a bundle trained with --direction backward (else only "
                                      "re-tune the weights for the backward model already there)")
    p.add_argument("--contexts", type=int, default=1000, help="validation contexts to tune on")
    args = p.parse_args(argv)
    try:
        bundle = Path(args.model)
        if not (bundle / MODEL_FILE).is_file():
            raise BundleError(f"{bundle}: no {MODEL_FILE} there")
        if args.backward:
            attach_backward(bundle, Path(args.backward))
        print(json.dumps(tune(bundle, args.contexts), indent=2))
    except (BundleError, ValueError, OSError, KeyError) as exc:
        print(f"rerank: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
