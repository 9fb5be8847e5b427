""""Why this reply?" for a person: pieces merged into words, turns labelled, the unseen part of the
conversation marked, the model's alternatives and confidence, and the LSTM units that moved most.

`Bot.explain` records, by teacher forcing, what the model computed at each reply piece (attention
over the source pieces, every unit's gates and cell state, its distribution over the next piece);
`build` turns that into a payload small enough to send with every panel. Nothing here is
translated: the web layer writes the sentence from `summary_data` in the visitor's language.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from chatbot.repetition import FUNCTION_WORDS
from chatbot.tokenizer import Tokenizer, normalize

UNITS_PER_GATE = 8  # rows of each gate's units x steps heatmap
UNITS_STEPPED = 4  # units whose live numbers the step-through shows
ALTERNATIVES = 3
SPEAKERS = ("you", "lembra")
STEPPED = ("forget", "input", "output", "candidate", "cell", "hidden")
WORDLIKE_MIN = 3  # "barely used" names a word of at least this many letters, not "a" or "?"


@dataclass
class Source:
    """The context as the model read it: words of the last turns, and which word (or None for a
    turn separator) each source position belongs to."""

    words: list[dict]
    position_word: list[int | None]


def text_words(tokenizer: Tokenizer, text: str, first: int = 0) -> tuple[list[str], list[int], dict]:
    """The words of a text, the word index (from `first`) of each of its pieces, and the
    characters of each word the tokenizer did not know."""
    originals = text.split()
    normalized = normalize(text)
    raw = normalized.encode("utf-8")
    positions, unknown = [], {}
    for piece in tokenizer.sp.encode(normalized, return_type="proto").pieces:
        index = min(first + raw[: piece.end].count(b" "), first + len(originals) - 1)
        positions.append(index)
        if piece.id == tokenizer.unk_id:
            unknown[index] = unknown.get(index, "") + piece.surface.strip()
    return originals, positions, unknown


def context_source(tokenizer: Tokenizer, turns: list[str], max_turns: int, max_len: int) -> Source:
    """Words of the last `max_turns` turns (the last turn is the visitor's, and turns alternate, as
    `history_turns` stores them), each with its speaker and whether any of its pieces fell inside
    the last `max_len` pieces the encoder reads. Mirrors `Tokenizer.encode_context`."""
    turns = list(turns[-max_turns:])
    words: list[dict] = []
    positions: list[int | None] = []
    for k, turn in enumerate(turns):
        if positions:
            positions.append(None)  # the <sep> between turns
        speaker = SPEAKERS[(len(turns) - 1 - k) % 2]
        originals, pieces, unknown = text_words(tokenizer, turn, len(words))
        words.extend({"text": w, "turn": speaker, "turn_index": k, "seen": False}
                     for w in originals)
        positions.extend(pieces)
        for index, chars in unknown.items():
            words[index]["unknown"] = chars
    window = positions[-max_len:] if positions else []
    for index in window:
        if index is not None:
            words[index]["seen"] = True
    return Source(words, window)


def reply_words(pieces: list[str]) -> list[tuple[str, list[int]]]:
    """The reply's words: the text of each and the indices of its pieces ("▁" starts a word)."""
    out: list[tuple[str, list[int]]] = []
    for i, piece in enumerate(pieces):
        text = piece.replace("\u2581", " ")
        if not out or text.startswith(" ") and out[-1][0].strip():
            out.append((text.strip(), [i]))
        else:
            out[-1] = ((out[-1][0] + text).strip(), [*out[-1][1], i])
    return [(text, indices) for text, indices in out if text]


def word_attention(attention: np.ndarray, source: Source, reply: list[tuple[str, list[int]]]) -> np.ndarray:
    """(reply words, context words): a context word gets the sum over its pieces, a reply word
    the mean over its pieces, so each row still sums to at most 1 (the rest went to separators)."""
    by_word = np.zeros((attention.shape[0], len(source.words)))
    for position, index in enumerate(source.position_word[: attention.shape[1]]):
        if index is not None:
            by_word[:, index] += attention[:, position]
    if not reply:
        return np.zeros((0, len(source.words)))
    return np.stack([by_word[indices].mean(0) for _, indices in reply])


def summary_data(words: list[dict], reply: list[tuple[str, list[int]]], matrix: np.ndarray) -> dict:
    """What the sentence says: the (at most two) reply words whose attention settled hardest on
    one context word, and the word of the visitor's last message it looked at least. Attention
    is where the decoder looked, not what it used (the encoder is bidirectional: a word's
    neighbours carry it too), so the sentence says "looked at"; function words ("i", "the") are
    left out on both sides, since attention parks on them without meaning much."""
    answered: list[dict] = []
    used: set[int] = set()
    content = [c for c, w in enumerate(words) if _is_content(w["text"])]
    replied = [r for r, (text, _) in enumerate(reply) if _is_content(text)]
    if content and len(matrix):
        sub = matrix[:, content]
        for r in sorted(replied, key=lambda i: -sub[i].max()):
            c = content[int(sub[r].argmax())]
            if c in used or matrix[r, c] <= 0:
                continue
            used.add(c)
            answered.append({"reply": _bare(reply[r][0]), "context": _bare(words[c]["text"]),
                             "share": round(float(matrix[r, c]), 3)})
            if len(answered) == 2:
                break
    last_turn = max((w["turn_index"] for w in words), default=0)
    candidates = [i for i in content if words[i]["turn_index"] == last_turn and words[i]["seen"]
                  and i not in used and sum(ch.isalpha() for ch in words[i]["text"]) >= WORDLIKE_MIN]
    barely = None
    if len(candidates) >= 2 and len(matrix):
        mean = matrix.mean(0)
        i = min(candidates, key=lambda c: mean[c])
        barely = {"context": _bare(words[i]["text"]), "share": round(float(mean[i]), 3)}
    unseen = sum(not w["seen"] for w in words)
    return {"answered": answered, "barely": barely, "unseen_words": unseen}


def _is_content(word: str) -> bool:
    bare = _bare(word).lower()
    return any(ch.isalnum() for ch in bare) and bare not in FUNCTION_WORDS


def alternatives(tokenizer: Tokenizer, top_ids: np.ndarray, top_p: np.ndarray) -> list[list[dict]]:
    """Per reply piece, the likeliest pieces the model could have written there; the end of the
    reply is `{"text": "", "end": true}`, pieces it may never write (pad, unk, bos, sep) are left out."""
    never = {tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.sep_id}
    out = []
    for ids, ps in zip(top_ids.tolist(), top_p.tolist()):
        row = []
        for i, p in zip(ids, ps):
            if i in never:
                continue
            if i == tokenizer.eos_id:
                row.append({"text": "", "end": True, "p": round(p, 3)})
            else:
                row.append({"text": tokenizer.sp.id_to_piece(i).replace("\u2581", " ").strip(),
                            "p": round(p, 3)})
            if len(row) == ALTERNATIVES:
                break
        out.append(row)
    return out


def confidence(chosen_p: np.ndarray) -> float:
    """The geometric mean of the probability of each piece written: 1 when the model was sure of
    every piece, and not dragged to 0 by a long reply as the product would be."""
    if not len(chosen_p):
        return 0.0
    return round(float(np.exp(np.mean(np.log(np.clip(chosen_p, 1e-9, 1.0))))), 3)


def moving_units(values: np.ndarray, count: int) -> list[int]:
    """The units (columns of (T, H) values) that changed most from step to step; for a one-step
    reply, those furthest from the middle of their range."""
    if len(values) > 1:
        score = np.abs(np.diff(values, axis=0)).sum(0)
    else:
        score = np.abs(values[0] - values[0].mean())
    return sorted(np.argsort(-score, kind="stable")[:count].tolist())


def lstm_units(force: dict) -> dict:
    """Per gate, a units x steps heatmap of the units that moved most, and, for the step-through,
    every quantity of the equations for the units whose cell state changed most."""
    units: dict = {}
    for gate in ("forget", "input", "output"):
        ids = moving_units(force[gate], UNITS_PER_GATE)
        units[gate] = {"ids": ids, "values": _rounded(force[gate][:, ids].T, 2)}  # colours
    cells = np.concatenate([force["cell_start"][None], force["cell"]])  # c_0 .. c_T
    ids = moving_units(cells, UNITS_STEPPED)
    units["steps"] = {"ids": ids, "cell": _rounded(cells[:, ids].T),
                      **{name: _rounded(force[name][:, ids].T)
                         for name in ("forget", "input", "candidate", "output", "hidden")}}
    return units


def example_source(tokenizer: Tokenizer, exemplar: str, max_len: int) -> Source:
    """The example reply as the encoder read it: its first `max_len` pieces (cut from the right,
    as `Tokenizer.encode_source` cuts it)."""
    originals, positions, _ = text_words(tokenizer, exemplar)
    window = positions[:max_len]
    seen = set(window)
    return Source([{"text": w, "seen": i in seen} for i, w in enumerate(originals)], window)


def copied_shares(force: dict, source_ids: np.ndarray, target: np.ndarray, split: int) -> dict:
    """Per reply piece, how much of its probability came through the copy gate, from the example
    (source positions before `split`) and from the conversation (after): (1 - p_gen) times the
    attention on the positions that hold that piece, over the piece's whole probability."""
    n = len(target)
    attention = np.asarray(force["attention"][:n], np.float64)
    p_gen = np.asarray(force["p_gen"][:n], np.float64)
    total = np.maximum(np.asarray(force["chosen_p"][:n], np.float64), 1e-9)
    same = np.asarray(source_ids)[None, : attention.shape[1]] == np.asarray(target)[:, None]
    held = attention * same
    scale = (1.0 - p_gen) / total
    return {"example": np.clip(held[:, :split].sum(1) * scale, 0, 1),
            "conversation": np.clip(held[:, split:].sum(1) * scale, 0, 1)}


COPIED = 0.5  # a word is "copied" when at least half of its pieces' probability came that way


def origins(words: list[tuple[str, list[int]]], shares: dict, context: Source, attention,
            split: int) -> list[dict]:
    """Per reply word: where it came from ("example", "you", "lembra": copied from the example,
    the visitor's words or Lembra's own earlier ones; "written": by the vocabulary distribution)
    and the share copied."""
    out = []
    for _, indices in words:
        example = float(np.mean(shares["example"][indices]))
        conversation = float(np.mean(shares["conversation"][indices]))
        origin = "written"
        if max(example, conversation) >= COPIED:
            origin = "example" if example >= conversation else _speaker(context, attention,
                                                                         indices, split)
        out.append({"origin": origin, "copied": round(example + conversation, 3)})
    return out


def _speaker(context: Source, attention, indices: list[int], split: int) -> str:
    """Whose turn the conversation position most attended at these pieces belongs to."""
    row = np.asarray(attention)[indices, split:].sum(0)
    for position in np.argsort(-row):
        if position < len(context.position_word) and context.position_word[position] is not None:
            return context.words[context.position_word[position]]["turn"]
    return "you"


def build(tokenizer: Tokenizer, turns: list[str], max_turns: int, max_len: int,
          pieces: list[str], force: dict, exemplar: str | None = None, max_exemplar: int = 0,
          source_ids=None, copies: bool = False) -> dict:
    """The whole explanation of one reply from one teacher-forced pass (`force`: numpy arrays of
    one row, see `CompiledDecoder.force`). The raw fields (`source`, `reply`, `attention`,
    `gates`) stay as they were for the terminal and older clients. With an `exemplar` (a
    retrieve-and-refine model), the encoder read the example's pieces and <ex> before the
    context: the attention is split at that point, and `source_ids` (what it read) tell which
    reply pieces it could have copied (with `copies`, a model with the copy gate)."""
    src = context_source(tokenizer, turns, max_turns, max_len)
    n = len(pieces)
    full = np.asarray(force["attention"][:n], np.float64)
    split = 0
    example = None
    if exemplar is not None:
        example = example_source(tokenizer, exemplar, max_exemplar)
        split = len(example.position_word) + 1  # the example's pieces and <ex>
    attention = full[:, split: split + len(src.position_word)]
    words = reply_words(pieces)
    matrix = word_attention(attention, src, words)
    extra = {}
    if copies and source_ids is not None:
        target = np.asarray(force["tokens"][:n])
        shares = copied_shares(force, source_ids, target, split)
        extra["p_gen"] = _rounded(force["p_gen"][:n], 3)
        extra["origins"] = origins(words, shares, src, full, split)
    if example is not None:
        ex_matrix = word_attention(full[:, : split - 1], example, words)
        extra["example"] = {"text": exemplar, "words": example.words,
                            "attention": [_rounded(row, 3) for row in ex_matrix],
                            "share": round(float(full[:, : split - 1].sum(1).mean()), 3)
                            if n else 0.0}
    summary = summary_data(src.words, words, matrix)
    if "origins" in extra:
        summary["copied"] = [{"reply": _bare(text), "from": o["origin"]}
                             for (text, _), o in zip(words, extra["origins"])
                             if o["origin"] != "written" and any(ch.isalnum() for ch in text)][:2]
    summary["example"] = example is not None
    return {
        **extra,
        "source": tokenizer.pieces(source_ids[source_ids > 0] if source_ids is not None else
                                   tokenizer.encode_context(turns, max_turns, max_len)),
        "reply": pieces,
        "attention": _rounded(attention),
        "gates": {name: _rounded(force["gates"][:n, i])
                  for i, name in enumerate(("input", "forget", "output"))},
        "words": {
            "context": src.words,
            "reply": [{"text": text, "pieces": indices, "attention": _rounded(row, 3)}
                      for (text, indices), row in zip(words, matrix)],
        },
        "window": max_len,
        "summary_data": summary,
        "alternatives": alternatives(tokenizer, force["top_ids"][:n], force["top_p"][:n]),
        "chosen_p": _rounded(force["chosen_p"][:n], 3),
        "confidence": confidence(force["chosen_p"][:n]),
        "units": lstm_units({k: np.asarray(v)[:n] for k, v in force.items() if k in STEPPED}
                            | {"cell_start": np.asarray(force["cell_start"])}),
    }


def _bare(word: str) -> str:
    """A word without the punctuation around it, for the sentence: "like", not "like?"."""
    return word.strip(string.punctuation + "¿¡…“”‘’") or word


def _rounded(values, digits: int = 3) -> list:
    """float64 before rounding, so JSON gets 0.855 rather than 0.8550000190734863."""
    return np.round(np.asarray(values, np.float64), digits).tolist()
