"""Conversations -> a deterministic train/valid/test split and (context, reply) training pairs.

The split is by conversation, never by turn, so no test reply has its neighbours in training. A
conversation's split depends only on its id (sha1 of seed + id: 90/5/5), so adding conversations
to a corpus never moves old ones between splits. The manifest written beside a model records the
corpus, its checksums and the counts, so an evaluation can rebuild exactly the same test split.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from chatbot.reply_memory import text_key
from train.corpora import Conversation, redacted, source_files

SPLITS = ("train", "valid", "test")
SPLIT_RULE = "int(sha1(seed + id), 16) % 100: < 90 train, < 95 valid, else test; seed 'lembra'"


def split_of(conversation_id: str, seed: str = "lembra") -> str:
    """'train', 'valid' or 'test' for this conversation id, 90/5/5 by a stable hash."""
    bucket = int(hashlib.sha1((seed + conversation_id).encode()).hexdigest(), 16) % 100
    return "train" if bucket < 90 else "valid" if bucket < 95 else "test"


def split_conversations(convs) -> dict[str, list[Conversation]]:
    """All three splits (possibly empty), each in corpus order."""
    splits: dict[str, list[Conversation]] = {name: [] for name in SPLITS}
    for conv in convs:
        splits[split_of(conv.id)].append(conv)
    return splits


def make_pairs(convs, context_turns: int, shorten: float = 0.0) -> list[tuple[list[str], str]]:
    """(up to K previous turns, oldest first; the next turn) for each turn after the first.

    With `shorten`, that share of the pairs that have more than one previous turn read only the
    last one or two (chosen by a stable hash, half each). Otherwise a one-turn context only ever
    opens a conversation, and the model learns that a short context asks for a greeting, which is
    what every first message in the app is.
    """
    if context_turns < 1:
        raise ValueError(f"context_turns must be at least 1, got {context_turns}")
    pairs = []
    for conv in convs:
        texts = [turn.text for turn in conv.turns]
        for i in range(1, len(texts)):
            if texts[i].strip():
                turns = min(i, context_turns)
                if shorten > 0 and turns > 1:
                    draw = _unit_hash(f"{conv.id}:{i}")
                    if draw < shorten:
                        turns = 1 if draw < shorten / 2 else 2
                pairs.append((texts[i - min(turns, context_turns):i], texts[i]))
    return pairs


def corpus_pairs(corpus: str, path: str | None, context_turns: int, shorten: float = 0.0,
                 keep=None):
    """Corpus -> conversations by split -> (context, reply) pairs by split: the one way training,
    evaluation and the benchmarks read data. `keep`, if given, chooses the conversations. The
    test split is never shortened."""
    from train.corpora import load_corpus

    convs = load_corpus(corpus, path)
    splits = split_conversations(convs if keep is None else [c for c in convs if keep(c)])
    pairs = {name: make_pairs(part, context_turns, shorten if name != "test" else 0.0)
             for name, part in splits.items()}
    return splits, pairs


def _unit_hash(key: str) -> float:
    """A stable draw in [0, 1) for a key: the same pairs are shortened in every run."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:12], 16) / float(16**12)


def reply_entropy(pairs) -> dict[str, float]:
    """Entropy (nats) of the turns that precede each distinct reply (Csáky et al., 2019).

    A reply that follows many different messages ("haha", "that's awesome") says nothing about
    them; training on it teaches the generic answer. Texts are compared lower-cased, without
    punctuation.
    """
    seen: dict[str, Counter] = {}
    for context, reply in pairs:
        seen.setdefault(text_key(reply), Counter())[text_key(context[-1])] += 1
    entropy = {}
    for reply, sources in seen.items():
        total = sum(sources.values())
        entropy[reply] = -sum(n / total * math.log(n / total) for n in sources.values())
    return entropy


def drop_generic(pairs, max_entropy: float):
    """Pairs whose reply's entropy (see `reply_entropy`) is at most `max_entropy`."""
    entropy = reply_entropy(pairs)
    return [(c, r) for c, r in pairs if entropy[text_key(r)] <= max_entropy]


WORD = re.compile(r"[a-z']+")
RARE = 0.002  # a word in fewer than this share of the replies names a topic, not a habit of speech


def recalling(pairs) -> list[tuple[list[str], str]]:
    """The pairs whose reply takes up a rare word of an earlier turn that the last message lacks
    ("do you have any other family in america?" after "i am from america" two turns back).

    About 8% of chitchat's training pairs; they are what teaches a decoder to read past the last message, and
    what a visitor's "what's my name?" needs. Words of four letters or more only.
    """
    n = len(pairs)
    counts: Counter = Counter()
    for _, reply in pairs:
        counts.update(set(WORD.findall(reply.lower())))

    def topic_words(text: str) -> set[str]:
        return {w for w in WORD.findall(text.lower()) if len(w) > 3 and counts[w] < RARE * n}

    out = []
    for context, reply in pairs:
        if len(context) > 1:
            earlier = set().union(*(topic_words(turn) for turn in context[:-1]))
            if (topic_words(reply) & earlier) - topic_words(context[-1]):
                out.append((context, reply))
    return out


def backward_pairs(pairs):
    """(reply, the message it answered) for the backward model p(message | reply) that reranks
    candidate replies by how well they account for what was said (Li et al., 2016)."""
    return [([reply], context[-1]) for context, reply in pairs]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(path, corpus: str, source_path, splits, pairs_per_split,
                   context_turns) -> dict:
    """Write the data manifest (JSON) to `path` and return it."""
    files = [{"path": str(file), "sha256": sha256_file(file), "bytes": file.stat().st_size}
             for file in source_files(corpus, None if source_path is None else str(source_path))
             if file.is_file()]
    manifest = {
        "corpus": corpus,
        "path": None if source_path is None else redacted(str(source_path)),
        "files": files,
        "split_rule": SPLIT_RULE,
        "context_turns": context_turns,
        "splits": {
            name: {
                "conversations": len(splits.get(name, [])),
                "turns": sum(len(c.turns) for c in splits.get(name, [])),
                "pairs": pairs_per_split.get(name, 0),
            }
            for name in SPLITS
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    Path(path).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
