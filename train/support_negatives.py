"""Write chatbot/support_negatives.txt: everyday turns of the training corpus for the support
classifier to learn what ordinary chat looks like.

    python -m train.support_negatives [--count 3000] [--out chatbot/support_negatives.txt]

A seeded sample of the Chit-Chat Challenge turns of 3-25 words that neither the support patterns
nor the sentiment lexicon finds sad or alarming, lower-cased. Fitted beside
chatbot/support_examples.tsv, they took the classifier's crisis recall on a held-out set it was
never fitted to from 0.46 to 0.86 (docs/benchmarks.md, "The support layer, again").
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "chatbot" / "support_negatives.txt"


def everyday(texts: list[str], count: int, seed: int = 7) -> list[str]:
    """Up to `count` of `texts`, in a seeded random order, that look like ordinary chat."""
    from chatbot import support
    from chatbot.sentiment import is_bad_news

    order = list(texts)
    random.Random(seed).shuffle(order)
    kept: list[str] = []
    for text in order:
        text = " ".join(text.split()).lower()
        folded = support._prepared(text)
        if not 3 <= len(text.split()) <= 25 or "\t" in text:
            continue
        if (support.CRISIS_PATTERNS.search(folded) or support.THREATS.search(folded)
                or support.RISK.search(folded) or support.SAD_PATTERNS.search(folded)
                or is_bad_news(folded)):
            continue
        kept.append(text)
        if len(kept) == count:
            break
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.support_negatives",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.count < 1:
        print("support_negatives: error: --count must be at least 1", file=sys.stderr)
        return 2
    from train.corpora import load_chitchat

    texts = [turn.text for conversation in load_chitchat() for turn in conversation.turns]
    kept = everyday(texts, args.count)
    args.out.write_text("\n".join(kept) + "\n", encoding="utf-8")
    print(f"wrote {len(kept)} everyday turns to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
