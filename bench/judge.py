"""Blind judging, as ../shared/guide/JUDGING.md says: replies of several systems to the same
prompts, shuffled together, for a grader who sees only the lines.

    python -m bench.judge write --system old=artifacts/old-default --system new=models/default \
        --system retrieval=retrieval:models/default --out artifacts/judging
    (a grader fills artifacts/judging/grades.tsv: ID<TAB>GRADE<TAB>FLAGS)
    python -m bench.judge score --out artifacts/judging --json

`sad` answers each of tests/data/judging/sad_messages.txt with each system and prints the share
of clearly cheerful replies (VADER compound >= 0.5, chatbot.sentiment): the target is 0.

`probes` tests memory: each line of memory_probes.tsv is a message stating a detail ("my name is
ana"), a later question about it and the detail; the system answers the message, then the
question with the whole conversation in view, and the share of answers that contain the detail
is printed.

Every command takes `--set DIR`, a folder of the same files (tests/data/judging/round2 is the
second set, written after the first had been used to choose weights).

`write` reads tests/data/judging/single_prompts.txt (one message a line) and conversations.tsv
(three turns a line: you, Lembra, you) and writes items.tsv (ID, prompt, reply: all the grader
sees; lower-cased, so the retrieval bot's capitals do not give it away), key.tsv (ID -> system,
kind) and replies_<system>.tsv (prompt and reply in prompt order, to quote). A system is
NAME=BUNDLE, NAME=BUNDLE@MODE (a decoding mode), NAME=BUNDLE@{"candidates": 16, ...} (decoding
options as JSON) or NAME=retrieval:BUNDLE (the TF-IDF baseline over that bundle's training
split). `score` reads the
grades back and prints, per system and kind, the share of 2s (sensible), of 1s and 2s
(acceptable or better) and the count of each flag; items graded twice give the agreement.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "judging"
FLAGS = "TGHRC"


def prompts(limit: int = 0, data: Path = DATA) -> list[tuple[str, list[str]]]:
    """(kind, history) for every single prompt and three-turn conversation (the first `limit`
    of each when given)."""
    singles = [("single", [line.strip()]) for line in
               (data / "single_prompts.txt").read_text().splitlines() if line.strip()]
    conversations = [("conversation", line.split("\t")) for line in
                     (data / "conversations.tsv").read_text().splitlines() if line.strip()]
    return singles[: limit or None] + conversations[: limit or None]


def load_system(spec: str):
    """NAME=BUNDLE[@MODE] or NAME=retrieval:BUNDLE -> (name, reply function)."""
    name, _, target = spec.partition("=")
    if not name or not target:
        raise ValueError(f"--system {spec!r}: expected NAME=BUNDLE")
    if target.startswith("retrieval:"):
        from train.retrieval_baseline import RetrievalBot

        baseline = RetrievalBot.for_bundle(target.removeprefix("retrieval:"))
        return name, lambda history: baseline.reply(history).text
    from chatbot.bot import Bot
    from chatbot.options import DecodeOptions

    path, _, mode = target.partition("@")
    bot = Bot.load(path)
    chosen = json.loads(mode) if mode.startswith("{") else ({"mode": mode} if mode else {})
    options = DecodeOptions.from_dict({"seed": 0, **chosen})
    return name, lambda history: bot.reply(history, options).text


def shown(kind: str, history: list[str]) -> str:
    if kind == "single":
        return history[0]
    return " | ".join(f"{'AB'[i % 2]}: {turn}" for i, turn in enumerate(history))


def write(systems: list[str], out: Path, seed: int, limit: int = 0, data: Path = DATA) -> dict:
    """The items, the key and each system's replies; returns the counts and, per system, the
    share of replies that say a content word twice within four words (chatbot.repetition)."""
    from chatbot.repetition import repeats_a_word

    out.mkdir(parents=True, exist_ok=True)
    items, stutters = [], {}
    for spec in systems:
        name, reply = load_system(spec)
        rows = []
        for kind, history in prompts(limit, data):
            text = " ".join(reply(history).split()) or "(no reply)"
            rows.append((kind, history, text))
            items.append((name, kind, shown(kind, history), text))
        with open(out / f"replies_{name}.tsv", "w", newline="") as f:
            csv.writer(f, delimiter="\t").writerows((k, " | ".join(h), t) for k, h, t in rows)
        stutters[name] = round(sum(repeats_a_word(t) for _, _, t in rows) / max(1, len(rows)), 3)
    random.Random(seed).shuffle(items)
    with open(out / "items.tsv", "w", newline="") as f, open(out / "key.tsv", "w", newline="") as k:
        for i, (name, kind, prompt, text) in enumerate(items, 1):
            csv.writer(f, delimiter="\t").writerow((f"J{i:04d}", prompt, text.lower()))
            csv.writer(k, delimiter="\t").writerow((f"J{i:04d}", name, kind))
    return {"items": len(items), "systems": [s.partition("=")[0] for s in systems], "out": str(out),
            "repeats_a_word_share": stutters}


def score(out: Path) -> dict:
    key = {row[0]: (row[1], row[2]) for row in
           csv.reader((out / "key.tsv").read_text().splitlines(), delimiter="\t")}
    grades: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for path in sorted(out.glob("grades*.tsv")):
        for row in csv.reader(path.read_text().splitlines(), delimiter="\t"):
            if len(row) >= 2 and row[0] in key and row[1].strip() in ("0", "1", "2"):
                grades[row[0]].append((int(row[1]), (row[2] if len(row) > 2 else "").upper()))
    table: dict = defaultdict(lambda: {"n": 0, "sensible": 0, "acceptable": 0,
                                       "flags": Counter()})
    for item, graded in grades.items():
        grade, flags = graded[0]
        for group in (key[item], (key[item][0], "all")):
            cell = table[f"{group[0]}/{group[1]}"]
            cell["n"] += 1
            cell["sensible"] += grade == 2
            cell["acceptable"] += grade >= 1
            cell["flags"].update(c for c in flags if c in FLAGS)
    twice = [g for g in grades.values() if len(g) > 1]
    result = {name: {"n": c["n"], "sensible": round(c["sensible"] / c["n"], 3),
                     "acceptable_or_better": round(c["acceptable"] / c["n"], 3),
                     "flags": dict(sorted(c["flags"].items()))}
              for name, c in sorted(table.items()) if c["n"]}
    result["graded_twice"] = len(twice)
    result["agreement"] = (round(sum(g[0][0] == g[1][0] for g in twice) / len(twice), 3)
                           if twice else None)
    return result


def sad(systems: list[str], data: Path = DATA) -> dict:
    from chatbot.sentiment import is_cheerful, valence

    messages = [m for m in (data / "sad_messages.txt").read_text().splitlines() if m.strip()]
    result = {"messages": len(messages)}
    for spec in systems:
        name, reply = load_system(spec)
        replies = [reply([m]) for m in messages]
        cheerful = [(m, r) for m, r in zip(messages, replies) if is_cheerful(r)]
        result[name] = {"cheerful_share": round(len(cheerful) / len(messages), 3),
                        "mean_valence": round(sum(map(valence, replies)) / len(replies), 3),
                        "cheerful": cheerful}
    return result


def recalls(answer: str, detail: str) -> bool:
    """Whether the answer has one of the detail's |-separated spellings as whole words."""
    import re

    text = " ".join(re.findall(r"[\w']+", answer.lower()))
    return any(re.search(rf"(?<![\w']){re.escape(d.strip().lower())}(?![\w'])", text)
               for d in detail.split("|") if d.strip())


def probes(systems: list[str], data: Path = DATA) -> dict:
    """The share of answers to "what's my name?" that contain the detail stated earlier."""
    rows = [line.split("\t") for line in
            (data / "memory_probes.tsv").read_text().splitlines() if line.strip()]
    result: dict = {"probes": len(rows)}
    for spec in systems:
        name, reply = load_system(spec)
        answers = []
        for statement, question, detail in rows:
            first = reply([statement])
            answer = reply([statement, first, question])
            answers.append({"said": statement, "asked": question, "answer": answer,
                            "recalled": recalls(answer, detail)})
        result[name] = {"recalled_share": round(sum(a["recalled"] for a in answers)
                                                / max(1, len(answers)), 3),
                        "answers": answers}
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="write the shuffled items and the key")
    w.add_argument("--system", action="append", required=True, help="NAME=BUNDLE[@MODE] or "
                   "NAME=retrieval:BUNDLE (repeat for each system)")
    w.add_argument("--out", default="artifacts/judging")
    w.add_argument("--seed", type=int, default=2026)
    w.add_argument("--limit", type=int, default=0, help="the first N prompts of each set (0 = all)")
    s = sub.add_parser("score", help="score the grades*.tsv files against the key")
    s.add_argument("--out", default="artifacts/judging")
    d = sub.add_parser("sad", help="the share of cheerful replies to sad messages")
    d.add_argument("--system", action="append", required=True, help="as for write")
    m = sub.add_parser("probes", help="the share of answers that recall a detail stated earlier")
    m.add_argument("--system", action="append", required=True, help="as for write")
    for q in (w, s, d, m):
        q.add_argument("--json", action="store_true")
    for q in (w, d, m):
        q.add_argument("--set", type=Path, default=DATA, help="folder of the prompt files "
                       "(default: tests/data/judging)")
    args = p.parse_args(argv)
    try:
        if args.command == "write":
            result = write(args.system, Path(args.out), args.seed, args.limit, args.set)
        elif args.command == "sad":
            result = sad(args.system, args.set)
        elif args.command == "probes":
            result = probes(args.system, args.set)
        else:
            result = score(Path(args.out))
    except (ValueError, OSError) as exc:
        print(f"judge: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
