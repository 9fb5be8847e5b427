"""Terminal use of a model bundle.

    python -m chatbot chat --model models/default          # interactive, multi-turn
    python -m chatbot reply --model models/default < prompts.txt   # one reply per line, single-turn
"""

from __future__ import annotations

import argparse
import json
import sys

from chatbot.bundle import BundleError
from chatbot.config import ConfigError
from chatbot.options import MODES


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m chatbot", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("chat", "chat interactively (multi-turn)"),
                       ("reply", "reply to each line of standard input (single-turn)")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--model", default="models/default", help="bundle directory")
        s.add_argument("--mode", choices=MODES, default=None,
                       help="decoding mode (default: the web app's, rerank)")
        s.add_argument("--options", default="{}",
                       help='decoding options as JSON, e.g. \'{"beam_width": 6}\'')
        s.add_argument("--explain", action="store_true", help="print attention and gate activity")
    return p.parse_args(argv)


def show_explanation(explanation: dict) -> None:
    gates = explanation["gates"]
    for i, piece in enumerate(explanation["reply"]):
        row = explanation["attention"][i]
        focus = explanation["source"][max(range(len(row)), key=row.__getitem__)]
        print(f"  {piece:>14}  input {gates['input'][i]:.2f}  forget {gates['forget'][i]:.2f}  "
              f"output {gates['output'][i]:.2f}  attends to {focus!r}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from chatbot.bot import Bot
    from chatbot.decoding import DecodeOptions

    try:
        raw = json.loads(args.options)
        if args.mode:
            raw = {**raw, "mode": args.mode}
        options = DecodeOptions.from_dict(raw)
        bot = Bot.load(args.model)
    except (BundleError, ConfigError, json.JSONDecodeError) as exc:
        print(f"chatbot: error: {exc}", file=sys.stderr)
        return 2
    if args.command == "reply":
        for line in sys.stdin:
            line = line.strip()
            reply = bot.reply([line], options, args.explain) if line else None
            print(reply.text if reply else "")
            if reply and args.explain:
                show_explanation(reply.explanation)
        return 0
    history: list[str] = []
    print(f"Lembra ({bot.version}). Empty line or Ctrl-D to quit.")
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            return 0
        history.append(line)
        reply = bot.reply(history, options, args.explain)
        history.append(reply.text)
        print(f"bot> {reply.text}")
        if args.explain:
            show_explanation(reply.explanation)


if __name__ == "__main__":
    sys.exit(main())
