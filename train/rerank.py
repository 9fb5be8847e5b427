"""Choose a bundle's rerank weights on the validation split (and add a backward model).

    python -m train.rerank --model models/mine             # after train.train_scorer
    python -m train.train --direction backward --init-from models/mine --out models/mine-bw
    python -m train.rerank --model models/mine --backward models/mine-bw

With a scorer, `--borrow-contexts` also chooses the margin by which a retrieved reply must out-fit
the best draft before the opt-in "borrow" setting shows it as it is: the one under which the
replies shown (draft or borrowed) share the most words with the true validation replies
(unigram F1); a tie goes to the larger margin, which borrows less.

The weights of the rerank score (chatbot.rerank: lambda on the backward model, gamma per piece,
phi on the scorer's fit, mu on the anti-LM prior) are those under which the true reply ranks
first among 10 validation replies most often (see `train.evaluate.ranking`), and are written to
rerank.json; terms the bundle has no model for stay at zero. The weight of the example's message
similarity (rho, `--match`) is not searched: ranking human replies has no example to match, so
it was chosen by blind judging (docs/benchmarks.md), and the bundle's own value is kept unless
`--match` gives another. So is the weight of a draft's agreement with the other drafts (kappa,
`--consensus`): human replies ranked against each other are no drafts of one reply, so it was
chosen on the drafts' word F1 against the true validation replies (`--consensus-contexts 240`
over CONSENSUS_GRID) and checked blind. A backward model p(message | reply) is copied into the
bundle as backward.keras; both models must share one tokenizer.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chatbot.bundle import (
    BACKWARD_FILE,
    MODEL_FILE,
    RERANK_FILE,
    TOKENIZER_FILE,
    BundleError,
    check_bundle,
)
from chatbot.rerank import RerankWeights
from train.evaluate import hits_at_1, ranking, test_pairs
from train.pairs import sha256_file

if TYPE_CHECKING:
    from chatbot.bot import Bot

# TensorFlow loads inside the functions that need it, so --help and argument errors are instant.

BACKWARD_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
LENGTH_GRID = (-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
FIT_GRID = (0.0, 5.0, 20.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0, 5120.0)
PRIOR_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
MARGIN_GRID = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)  # a borrowed reply must fit better
CONSENSUS_GRID = (0.0, 160.0, 640.0, 2560.0)  # kappa, beside fit and match weights of 640


def best_weights(ranks: dict[str, np.ndarray],
                 fixed: dict[str, float] | None = None) -> tuple[RerankWeights, float]:
    """The grid point with the highest hits@1 (ties: the smaller weights); a weight in `fixed`
    is not searched."""
    fixed = fixed or {}
    best, best_hits = RerankWeights(0.0, 0.0), -1.0
    backward, fit = ranks.get("backward"), ranks.get("fit")
    grids = {"backward": BACKWARD_GRID if backward is not None else (0.0,), "length": LENGTH_GRID,
             "fit": FIT_GRID if fit is not None else (0.0,), "prior": PRIOR_GRID}
    grids.update({name: (value,) for name, value in fixed.items()})
    for lam, gamma, phi, mu in itertools.product(grids["backward"], grids["length"], grids["fit"],
                                                 grids["prior"]):
        weights = RerankWeights(lam, gamma, phi, mu)
        hits = hits_at_1(weights.combine(ranks["forward"], backward, ranks["length"], fit,
                                         ranks.get("prior_head")))
        if hits > best_hits + 1e-9:
            best, best_hits = weights, hits
    return best, best_hits


def best_margin(drafts: list[tuple[str, float]], retrieved: list[tuple[str, float]],
                references: list[str], grid=MARGIN_GRID) -> tuple[float, dict]:
    """The margin of MARGIN_GRID with the highest mean word F1 of the replies shown; per margin,
    that F1 and the share borrowed. drafts/retrieved: (text, fit) per context."""
    from train.metrics import word_f1

    draft_f1 = np.array([word_f1(t, r) for (t, _), r in zip(drafts, references)])
    kept_f1 = np.array([word_f1(t, r) for (t, _), r in zip(retrieved, references)])
    gain = np.array([f for _, f in retrieved]) - np.array([f for _, f in drafts])
    table = {}
    for margin in grid:
        borrow = gain > margin
        table[margin] = {"f1": float(np.where(borrow, kept_f1, draft_f1).mean()),
                         "borrowed_share": float(borrow.mean())}
    best = max(sorted(grid, reverse=True), key=lambda m: table[m]["f1"] + 1e-12 * m)
    return best, table


def tune_borrow(bot: Bot, pairs) -> tuple[float, dict]:
    """Draft the Best fit reply to each validation context and retrieve the best-fitting one."""
    from chatbot.options import DecodeOptions

    options = DecodeOptions(seed=0)
    drafts, retrieved = [], []
    for context, _ in pairs:
        text = bot.reply(context, options).text
        drafts.append((text, float(bot.fit([context], [bot.tokenizer.encode(text)])[0])))
        hit = bot.retrieve(context, 1)[0]
        retrieved.append((hit["text"], hit["fit"]))
    return best_margin(drafts, retrieved, [reply for _, reply in pairs])


def tune_consensus(bot: Bot, pairs, grid=CONSENSUS_GRID) -> tuple[float, dict]:
    """The kappa of `grid` whose Best fit replies share the most words with the true validation
    replies (mean unigram F1; ties: the smaller kappa); per kappa, that F1 and the replies that
    differ from kappa 0's. The drafts are the same for every kappa (a seed per context), so only
    the choice among them moves."""
    import dataclasses

    from chatbot.options import DecodeOptions
    from train.metrics import word_f1

    base, table, first = bot.weights, {}, None
    for kappa in grid:
        bot.weights = dataclasses.replace(base, consensus=kappa)
        shown = []
        for start in range(0, len(pairs), 16):
            chunk = pairs[start:start + 16]
            replies = bot.reply_batch([c for c, _ in chunk], DecodeOptions(seed=0),
                                      seeds=list(range(start, start + len(chunk))))
            shown += [r.text for r in replies]
        first = first or shown
        table[kappa] = {"f1": float(np.mean([word_f1(t, r) for t, (_, r) in zip(shown, pairs)])),
                        "changed": sum(a != b for a, b in zip(shown, first))}
    bot.weights = base
    best = max(sorted(grid), key=lambda k: (round(table[k]["f1"], 12), -k))
    return best, table


def attach_backward(bundle: Path, backward: Path) -> None:
    if sha256_file(bundle / TOKENIZER_FILE) != sha256_file(backward / TOKENIZER_FILE):
        raise BundleError(f"{backward} has another tokenizer than {bundle}; train it with "
                          f"--init-from {bundle}")
    shutil.copyfile(backward / MODEL_FILE, bundle / BACKWARD_FILE)


def tune(bundle: Path, contexts: int, fixed: dict[str, float] | None = None,
         borrow_contexts: int = 0, match: float | None = None, consensus: float | None = None,
         consensus_contexts: int = 0) -> dict:
    import dataclasses

    from chatbot.bot import Bot

    bot = Bot.load(bundle)
    pairs = test_pairs(bundle, "valid", contexts, bot.config.context_turns)
    ranks = ranking(bot, pairs)
    weights, hits = best_weights(ranks, fixed)
    weights = dataclasses.replace(weights, match=bot.weights.match if match is None else match,
                                  consensus=bot.weights.consensus if consensus is None else consensus)
    result = {"backward": weights.backward, "length": weights.length, "fit": weights.fit,
              "prior": weights.prior, "match": weights.match, "consensus": weights.consensus,
              "contexts": len(pairs),
              "valid_hits_at_1": hits_at_1(ranks["forward"]), "valid_hits_at_1_rerank": hits}
    if borrow_contexts and bot.memory is not None:
        bot.weights = weights
        margin, table = tune_borrow(bot, pairs[:borrow_contexts])
        weights = dataclasses.replace(weights, borrow_margin=margin)
        result.update(borrow_margin=margin, borrow_contexts=min(borrow_contexts, len(pairs)),
                      borrow_table={str(m): v for m, v in table.items()})
    if consensus_contexts and consensus is None and bot.scorer is not None:
        bot.weights = weights
        kappa, table = tune_consensus(bot, pairs[:consensus_contexts])
        weights = dataclasses.replace(weights, consensus=kappa)
        result.update(consensus=kappa, consensus_contexts=min(consensus_contexts, len(pairs)),
                      consensus_table={str(k): v for k, v in table.items()})
    weights.save(bundle / RERANK_FILE)
    return result


def parse_fixed(text: str) -> dict[str, float]:
    """'length=0.5,prior=0' -> {"length": 0.5, "prior": 0.0}; ValueError for anything else."""
    fixed = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in ("backward", "length", "fit", "prior"):
            raise ValueError(f"--fixed: unknown weight {name!r} (backward, length, fit, prior)")
        try:
            fixed[name] = float(value)
        except ValueError:
            raise ValueError(f"--fixed: {part!r} is not NAME=NUMBER") from None
    return fixed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the (forward) bundle to complete")
    p.add_argument("--backward", help="a bundle trained with --direction backward (else only "
                                      "re-tune the weights for the backward model already there)")
    p.add_argument("--contexts", type=int, default=1000, help="validation contexts to tune on")
    p.add_argument("--fixed", default="", help="weights to keep instead of searching, e.g. "
                   "'length=0.5,prior=0': ranking human replies favours long ones more than "
                   "choosing among the model's own samples should (docs/benchmarks.md)")
    p.add_argument("--borrow-contexts", type=int, default=300, help="validation contexts to "
                   "choose the borrow margin on (0 = keep the default margin)")
    p.add_argument("--match", type=float, help="rho, the weight of an example's message "
                   "similarity (default: keep the bundle's)")
    p.add_argument("--consensus", type=float, help="kappa, the weight of a draft's agreement with "
                   "the other drafts (default: keep the bundle's, or choose it with "
                   "--consensus-contexts)")
    p.add_argument("--consensus-contexts", type=int, default=0, help="validation contexts to choose "
                   "kappa on, by the word F1 of the Best fit replies (0 = keep the bundle's)")
    args = p.parse_args(argv)
    try:
        if args.match is not None and args.match < 0:
            raise ValueError("--match must not be negative")
        if args.consensus is not None and args.consensus < 0:
            raise ValueError("--consensus must not be negative")
        bundle = Path(args.model)
        check_bundle(bundle)
        fixed = parse_fixed(args.fixed)
        if args.backward:
            attach_backward(bundle, Path(args.backward))
        print(json.dumps(tune(bundle, args.contexts, fixed, args.borrow_contexts, args.match,
                              args.consensus, args.consensus_contexts), indent=2))
    except (BundleError, ValueError, OSError, KeyError) as exc:
        print(f"rerank: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
