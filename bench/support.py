"""How well chatbot.support sorts visitor messages: precision and recall per class.

    python -m bench.support --json

Reads labelled messages (LABEL<TAB>MESSAGE, English and Portuguese, with idioms that borrow
alarming words): chatbot/support_examples.tsv, which the classifier is fitted to and the patterns
were written against (in-sample), and seven sets written apart and never fitted to:
tests/data/support_messages_heldout.tsv (90), heldout2 (120), heldout3 to heldout7 (150 each),
each measured once before its misses were read (docs/benchmarks.md has those first figures);
heldout7's misses have not been read: it is the set the next change is measured on.
Also the sad messages of both judging sets, which should all get the page's support note
(classified sad or crisis) and not the crisis reply. Targets: crisis recall 1.0 with precision
>= 0.9; the note for >= 95% of sad messages.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chatbot.support import EXAMPLES, LABELS, classify, examples

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
HELD_OUT = DATA / "support_messages_heldout.tsv"
# Written later, each apart from the classifier, each measured once before it was read to improve
# the layer (2026-12-03): the figure of the newest before it was read is the honest one.
HELD_OUT_2 = DATA / "support_messages_heldout2.tsv"
HELD_OUT_3 = DATA / "support_messages_heldout3.tsv"
HELD_OUT_4 = DATA / "support_messages_heldout4.tsv"
HELD_OUT_5 = DATA / "support_messages_heldout5.tsv"  # 2026-12-04
HELD_OUT_6 = DATA / "support_messages_heldout6.tsv"
HELD_OUT_7 = DATA / "support_messages_heldout7.tsv"  # measured once, not read
HELD_OUT_SETS = {"held_out": HELD_OUT, "held_out_2": HELD_OUT_2, "held_out_3": HELD_OUT_3,
                 "held_out_4": HELD_OUT_4, "held_out_5": HELD_OUT_5, "held_out_6": HELD_OUT_6,
                 "held_out_7": HELD_OUT_7}
SAD_SETS = (DATA / "judging" / "sad_messages.txt", DATA / "judging" / "round2" / "sad_messages.txt")


def scores(rows: list[tuple[str, str]]) -> dict:
    """Per class: precision, recall and counts; the confusion (true -> predicted) and the
    messages it got wrong."""
    predicted = [classify(text) for _, text in rows]
    out: dict = {"n": len(rows), "classes": {}, "wrong": []}
    for label in LABELS:
        tp = sum(p == label and t == label for (t, _), p in zip(rows, predicted))
        said = sum(p == label for p in predicted)
        real = sum(t == label for t, _ in rows)
        out["classes"][label] = {"precision": round(tp / said, 3) if said else None,
                                 "recall": round(tp / real, 3) if real else None,
                                 "n": real}
    out["confusion"] = {t: {p: sum(1 for (tt, _), pp in zip(rows, predicted) if tt == t and pp == p)
                            for p in LABELS} for t in LABELS}
    out["wrong"] = [{"label": t, "predicted": p, "text": text}
                    for (t, text), p in zip(rows, predicted) if t != p]
    return out


def sad_note_share(paths=SAD_SETS) -> dict:
    messages = [m for path in paths if path.is_file()
                for m in path.read_text().splitlines() if m.strip()]
    classes = [classify(m) for m in messages]
    missed = [m for m, c in zip(messages, classes) if c == "ordinary"]
    crisis = [m for m, c in zip(messages, classes) if c == "crisis"]
    return {"n": len(messages), "note_share": round(1 - len(missed) / max(1, len(messages)), 3),
            "missed": missed, "crisis_share": round(len(crisis) / max(1, len(messages)), 3),
            "crisis": crisis}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        result = {name: scores(examples(path)) for name, path in HELD_OUT_SETS.items()}
        result |= {"in_sample": scores(examples(EXAMPLES)), "sad_messages": sad_note_share()}
    except (OSError, ValueError) as exc:
        print(f"support: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        for part in (*HELD_OUT_SETS, "in_sample"):
            for label, c in result[part]["classes"].items():
                print(f"{part:>10} {label:>9}  precision {c['precision']}  recall {c['recall']}  "
                      f"(n={c['n']})")
        print(f"sad messages with the note: {result['sad_messages']['note_share']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
