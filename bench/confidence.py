"""How a bundle's replies fall on the confidence scale every page shows (`chatbot.confidence`).

    python -m bench.confidence --model models/default --json

Answers the single prompts of every judging round (`tests/data/judging/*/single_prompts.txt`) with
the page's default options, seed 0, and reports the quantiles of the replies' confidence (the
geometric mean probability of their pieces) and the share at each level.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from chatbot import confidence

JUDGING = Path(__file__).resolve().parents[1] / "tests" / "data" / "judging"


def prompts(limit: int) -> list[str]:
    """Up to `limit` distinct single prompts, taken from the rounds in turn so every round counts."""
    rounds = [[line.strip() for line in path.read_text().splitlines() if line.strip()]
              for path in sorted(JUDGING.glob("*/single_prompts.txt"))]
    mixed = [p for group in zip(*rounds) for p in group]
    return list(dict.fromkeys(mixed))[:limit]  # a prompt two rounds share is asked once


def levels(shares: list[float]) -> dict:
    share = np.asarray(shares, float)
    return {"replies": len(share),
            "quantiles": {str(q): round(float(np.quantile(share, q)), 3) for q in (0.1, 0.25, 0.5, 0.75, 0.9)},
            "share_at_level": {name: round(float(np.mean([confidence.level(s) == name for s in share])), 3)
                               for name, _lowest in confidence.LEVELS}}


def run(model: str, limit: int) -> dict:
    from chatbot.bot import Bot
    from chatbot.options import DecodeOptions, page_defaults

    bot = Bot.load(model)
    options = DecodeOptions(**page_defaults(), seed=0)
    asked = prompts(limit)
    shares = []
    for start in range(0, len(asked), 8):
        for reply in bot.reply_batch([[p] for p in asked[start:start + 8]], options):
            if reply.confidence is not None:
                shares.append(confidence.share(reply.confidence))
    return {"model": model, **levels(shares)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.confidence", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/default", help="the bundle to answer with")
    parser.add_argument("--limit", type=int, default=120, help="prompts to answer (default 120)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.model, args.limit)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
