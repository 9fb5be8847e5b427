"""Write a bundle's MODEL_CARD.md from its own files, so the card cannot drift from the numbers.

    python -m train.model_card --model models/default --baseline models/baseline \
        --previous old/default --training-note "..." --command "python -m train.train ..."

It evaluates the bundle greedily, the previous default (greedily and with the decoding its own
metrics record) and the baseline (greedily), unless their figures are already stored in the
bundle's metrics.json ("test_greedy", "previous", "baseline"), then renders: data and split
(manifest.json), hyperparameters (config.json, train_config.json), training history, the
models' metrics side by side under the same decoding, the commands, 20 sample exchanges from the
test split (several multi-turn), and known limitations.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chatbot.bundle import (
    CARD_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_FILE,
    TRAIN_CONFIG_FILE,
)
from chatbot.options import DecodeOptions

if TYPE_CHECKING:
    from chatbot.bot import Bot

# TensorFlow loads inside the functions that need it, so --help and argument errors are instant.

METRIC_KEYS = ("perplexity_per_word", "hits_at_1", "hits_at_1_rerank", "hits_at_1_pmi",
               "hits_at_1_scorer", "hits_at_1_of_100_scorer", "truncated_share",
               "exact_cap_share", "greeting_share_short_context", "bleu", "distinct_1",
               "distinct_2", "unique_reply_ratio", "top1_reply_share", "mean_reply_words",
               "latency_ms_p50", "latency_ms_p95")
COLUMNS = (("test", "Lembra, default decoding"), ("test_greedy", "Lembra, greedy"),
           ("previous_default", "previous, its default"), ("previous_greedy", "previous, greedy"),
           ("baseline", "baseline, greedy"), ("retrieval", "retrieval bot (TF-IDF)"))

LIMITATIONS = """\
- Trained on about 120,000 turns of casual chat between US university students (the Chit-Chat
  Challenge, 2018). It knows small talk — school, weekends, pets, music, food — and little else;
  it has no facts, no memory beyond the last three turns, and no notion of truth.
- Each reply is the best of 8 drafts (temperature 0.7, nucleus 0.9), each written with another
  retrieved reply in view and chosen mostly by the relevance scorer's fit, so the same message
  gets different answers. Drafts lean on their examples: a reply is often close to what a person
  said in a similar training conversation, including its mistakes and its confident claims about
  a life the bot does not have. Some are still off topic or contradictory. Under bad news a
  cheerful draft is passed over, but an answer may still be flat or beside the point. Beam
  search gives safer, blander replies; greedy repeats itself more.
- The corpus is informal English, lower-cased by the tokenizer; other languages and formal text
  fall outside what it has seen. It may reproduce the biases and crude language of its data.
- A 5-million-parameter LSTM is a teaching model: it shows how attention and gates work, not what
  a modern assistant can do.
"""


def metrics_row(name: str, columns: list[dict]) -> str:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else "—" if v is None else str(v)

    return f"| `{name}` | " + " | ".join(fmt(c.get(name)) for c in columns) + " |"


def columns_of(metrics: dict) -> list[dict]:
    previous = metrics.get("previous", {})
    found = {"test": metrics["test"], "test_greedy": metrics.get("test_greedy", {}),
             "previous_default": previous.get("default", {}),
             "previous_greedy": previous.get("greedy", {}), "baseline": metrics.get("baseline", {}),
             "retrieval": metrics.get("retrieval_baseline_test", {})}
    return [found[key] for key, _ in COLUMNS]


def history_table(bundle: Path) -> str:
    path = bundle / HISTORY_FILE
    if not path.is_file():
        return "(no history)"
    rows = list(csv.DictReader(path.open()))
    lines = ["| epoch | loss | val_loss |", "| --- | --- | --- |"]
    lines += [f"| {int(r['epoch']) + 1} | {float(r['loss']):.3f} | {float(r['val_loss']):.3f} |"
              for r in rows]
    return "\n".join(lines)


def sample_exchanges(bot: Bot, bundle: Path, n: int = 20) -> list[tuple[list[str], str, str]]:
    """n test-split contexts, half of them with earlier turns, answered with default options."""
    from train.evaluate import test_pairs

    pairs = test_pairs(bundle, "test", 0, bot.config.context_turns)
    multi = [p for p in pairs if len(p[0]) >= 2]
    single = [p for p in pairs if len(p[0]) == 1]
    step_m, step_s = max(1, len(multi) // (n // 2)), max(1, len(single) // (n - n // 2))
    chosen = multi[::step_m][: n // 2] + single[::step_s][: n - n // 2]
    options = DecodeOptions(seed=0)
    return [(context, reference, bot.reply(context, options).text)
            for context, reference in chosen]


def scorer_section(bundle: Path, metrics: dict, bot: Bot) -> list[str]:
    """What the relevance scorer is and how it did, from metrics.json's "scorer" entry."""
    scorer = metrics.get("scorer")
    if not scorer or bot.scorer is None:
        return []
    cfg = bot.scorer.cfg
    size = lambda name: (bundle / name).stat().st_size / 1e6  # noqa: E731
    return [
        "## Relevance scorer and reply memory", "",
        "An LSTM dual encoder (`scorer.keras`, `chatbot/scorer.py`): the context and a reply are "
        f"each read by a bidirectional LSTM ({cfg.units} units a direction) into a {cfg.dim}-"
        "dimensional unit vector, and their cosine is the reply's *fit*. Trained by "
        "`train.train_scorer` on the same split and tokenizer, every context against every "
        "reply of its batch of 256 (in-batch negatives), its embedding started from the "
        f"seq2seq model's: {scorer['train_pairs']:,} pairs, best of {scorer['epochs']} epochs on "
        f"validation. The reply memory (`memory.npz`) holds the {scorer['memory_replies']:,} "
        "distinct training replies as int8 vectors; `Bot.retrieve` finds the best-fitting ones "
        "with one matrix product.", "",
        "| on the whole test split | value |", "| --- | --- |",
        f"| contexts | {scorer['n']:,} |",
        f"| `hits_at_1_scorer` (true reply first among 10) | {scorer['hits_at_1_scorer']:.3f} |",
        f"| `hits_at_1_of_100_scorer` (among 100) | {scorer['hits_at_1_of_100_scorer']:.3f} |",
        "", f"Files: `scorer.keras` {size('scorer.keras'):.1f} MB (float16 weights), "
        f"`memory.npz` {size('memory.npz'):.1f} MB. Rerank weights (`rerank.json`; how they were "
        f"chosen is under Training): {json.dumps(dataclasses.asdict(bot.weights))}.", "",
        "![scorer training curves](scorer_curves.png)", "",
    ]


def refine_section(config: dict, train_cfg: dict) -> list[str]:
    """How a retrieve-and-refine model with the copy gate reads and writes (none for others)."""
    if not config.get("max_exemplar_len"):
        return []
    alpha, none = train_cfg.get("alpha", 0.0), train_cfg.get("no_exemplar", 0.0)
    return [
        "## Retrieve, refine and copy", "",
        "Before the conversation the encoder reads an *example*: the first "
        f"{config['max_exemplar_len']} pieces of a reply from the memory below, then the `<ex>` "
        "piece (Weston, Dinan and Miller 2018, \"Retrieve and Refine\"). In Best fit the 8 "
        "replies that fit the conversation best are the examples of the 8 drafts, written in "
        "one batched decoder call; the other modes take the best one. In training, a pair's "
        "example was one of the 10 replies retrieved for its context, re-sorted by their "
        f"similarity to the true reply and never from its own conversation; {alpha:.0%} of pairs "
        f"saw their own true reply instead (alpha-blending, Roller et al. 2020) and {none:.0%} "
        "no example, so the model learns that an example is worth reading and still answers "
        "without one.", "",
        "A copy gate (the pointer-generator of See, Liu and Manning 2017) "
        + ("mixes, at each step, the vocabulary distribution with the attention over the "
           "pieces read (the example's and the conversation's), weighted by a learned p_gen, so "
           "a name or a topic word can be written because it was read. \"Why this reply?\" "
           "shows the example, p_gen per piece and which words were copied from where."
           if config.get("copy") else "is off in this bundle."), "",
    ]


def behaviour_section(metrics: dict) -> list[str]:
    """Memory probes, cheerful replies to sad news and stutters per system ("behaviour")."""
    found = metrics.get("behaviour")
    if not found:
        return []
    rows = ["| system | memory probes recalled | cheerful replies to sad news | replies that "
            "repeat a word within four |", "| --- | --- | --- | --- |"]
    rows += [f"| {r['system']} | {r['probes_recalled']:.3f} | {r['cheerful_share']:.3f} | "
             f"{r['repeats_share']:.3f} |" for r in found["systems"]]
    return ["## Memory, kindness and repetition", "", found["how"], "", *rows, ""]


def blind_section(metrics: dict) -> list[str]:
    """The blind grading stored in metrics.json ("blind"), as ../shared/guide/JUDGING.md asks."""
    blind = metrics.get("blind")
    if not blind:
        return []
    rows = ["| system | sensible | acceptable or better | sensible, 3-turn | H flags |",
            "| --- | --- | --- | --- | --- |"]
    rows += [f"| {r['system']} | {r['sensible']:.3f} | {r['acceptable']:.3f} | "
             f"{r['sensible_conversation']:.3f} | {r['h_flags']} |" for r in blind["systems"]]
    out = ["## Blind grading", "", blind["how"], "", *rows, ""]
    for extra in blind.get("earlier", []):
        out += [extra["how"], "", rows[0], rows[1]]
        out += [f"| {r['system']} | {r['sensible']:.3f} | {r['acceptable']:.3f} | "
                f"{r['sensible_conversation']:.3f} | {r['h_flags']} |" for r in extra["systems"]]
        out.append("")
    return out


def render(bundle: Path, note: str, commands: list[str]) -> str:
    from chatbot.bot import Bot

    bot = Bot.load(bundle)
    config = json.loads((bundle / CONFIG_FILE).read_text())
    train_cfg = json.loads((bundle / TRAIN_CONFIG_FILE).read_text())
    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    metrics = json.loads((bundle / METRICS_FILE).read_text())
    ours = metrics["test"]
    size_mb = (bundle / MODEL_FILE).stat().st_size / 1e6
    out = [
        f"# Model card: `{bundle.name}` ({bot.version})", "",
        "A seq2seq encoder-decoder LSTM with Luong attention, trained by `train/` on the "
        "Chit-Chat Challenge corpus. This card is generated by `python -m train.model_card` from "
        "the bundle's own files; `tests/test_shipped_model.py` checks that its figures match "
        "`metrics.json`.", "",
        "## Data and split", "",
        f"- Corpus: `{manifest['corpus']}` (PyPI `chitchat-dataset` 0.9.0, MIT): 7,168 "
        "conversations, of which the loader keeps those with at least two turns.",
        f"- Split rule: {manifest.get('split_rule', 'sha1 of the conversation id, 90/5/5')}.",
        *[f"- {name}: {part['conversations']:,} conversations, {part['turns']:,} turns, "
          f"{part['pairs']:,} (context, reply) pairs" for name, part in manifest["splits"].items()],
        f"- Each pair is up to {config['context_turns']} turns of context -> the next turn; the "
        "tokenizer (SentencePiece unigram) was trained on the training split only.", "",
        "## Hyperparameters", "",
        "```json", json.dumps(config, indent=2, sort_keys=True), "```", "",
        f"Weights: {size_mb:.1f} MB (`model.keras`, float32), "
        f"{bot.bundle.model.count_params():,} parameters.", "",
        "## Training", "", note, "",
        "Last phase's training configuration:", "",
        "```json", json.dumps(train_cfg, indent=2, sort_keys=True), "```", "",
        history_table(bundle), "", "![training curves](curves.png)", "",
        *refine_section(config, train_cfg),
        *scorer_section(bundle, metrics, bot),
        "## Evaluation (test split, the same 500 contexts for every model)", "",
        f"Lembra's default decoding: {json.dumps(ours.get('decoding'))}. Diversity figures mostly "
        "compare decoding modes, so each model is also shown greedy. The previous default is the "
        f"bundle this one replaced ({metrics.get('previous', {}).get('version', '—')}). The "
        "baseline (vanilla encoder-decoder LSTM, no attention, single turn, untied output) "
        "decodes greedily, as the classic seq2seq chatbots do; its figures were measured before "
        "the figures added with this card existed (—).", "",
        "| metric | " + " | ".join(title for _, title in COLUMNS) + " |",
        "| --- |" + " --- |" * len(COLUMNS),
        *[metrics_row(k, columns_of(metrics)) for k in METRIC_KEYS], "",
        "Perplexity is over every pair of the test split; the reply figures over 500 of them. "
        "`hits_at_1`: the true reply ranked first among 10 test replies by the forward "
        "likelihood (chance 0.1); `hits_at_1_rerank`: by the rerank score; `hits_at_1_pmi`: by "
        "log p(reply | context) - log p(reply | empty context); `hits_at_1_scorer`: by the "
        "relevance scorer alone (among 100: `hits_at_1_of_100_scorer`, on the whole split). The "
        "retrieval bot answers with the reply that followed the most similar training message "
        "(TF-IDF over word 1-2 grams, `train.evaluate --baseline retrieval`) and ranks replies "
        "by their TF-IDF cosine to the last message. `truncated_share`: "
        "replies that reached the length cap without ending. `exact_cap_share`: replies exactly "
        "31 pieces long. `greeting_share_short_context`: greetings among replies to the last "
        "turn alone of multi-turn contexts. Latency is one reply at batch 1 on the evaluating "
        "machine (2 CPU cores).", "",
        *blind_section(metrics),
        *behaviour_section(metrics),
        "## Reproduce", "", "```sh", *commands, "```", "",
        "## Sample exchanges (test split, default options, seed 0)", "",
    ]
    for i, (context, reference, reply) in enumerate(sample_exchanges(bot, bundle), 1):
        out.append(f"**{i}.**")
        out += [f"> {'A' if (len(context) - j) % 2 else 'B'}: {turn}"
                for j, turn in enumerate(context)]
        out += [">", f"> **Lembra:** {reply}", ">", f"> *(the person actually said: {reference})*", ""]
    out += ["## Known limitations", "", LIMITATIONS]
    return "\n".join(out)


def previous_figures(previous: Path, n: int) -> dict:
    """The previous default under greedy decoding and under the decoding its metrics record."""
    from train.evaluate import evaluate_bundle

    recorded = json.loads((previous / METRICS_FILE).read_text())["test"]["decoding"]
    own = DecodeOptions.from_dict({k: v for k, v in recorded.items()
                                   if k in DecodeOptions.__dataclass_fields__})
    strip = lambda result: {k: v for k, v in result.items() if k != "samples"}  # noqa: E731
    default = evaluate_bundle(previous, "test", n, own)
    return {"version": default["model_version"], "default": strip(default),
            "greedy": strip(evaluate_bundle(previous, "test", n, DecodeOptions(mode="greedy", seed=0)))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--baseline", help="baseline bundle to evaluate (else metrics.json's 'baseline')")
    p.add_argument("--previous", help="the bundle this one replaces (else metrics.json's 'previous')")
    p.add_argument("--training-note", default="")
    p.add_argument("--command", action="append", default=[])
    args = p.parse_args(argv)
    from train.evaluate import evaluate_bundle

    bundle = Path(args.model)
    metrics_path = bundle / METRICS_FILE
    metrics = json.loads(metrics_path.read_text())
    n = metrics["test"]["n"]
    if "test_greedy" not in metrics:
        greedy = evaluate_bundle(bundle, "test", n, DecodeOptions(mode="greedy", seed=0))
        metrics["test_greedy"] = {k: v for k, v in greedy.items() if k != "samples"}
    if args.baseline:
        base = evaluate_bundle(args.baseline, "test", n, DecodeOptions(mode="greedy", seed=0))
        metrics["baseline"] = {k: v for k, v in base.items() if k != "samples"}
    if args.previous:
        metrics["previous"] = previous_figures(Path(args.previous), n)
    metrics_path.write_text(json.dumps(metrics, indent=2))
    card = render(bundle, args.training_note, args.command)
    (bundle / CARD_FILE).write_text(card)
    print(f"wrote {bundle / CARD_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
