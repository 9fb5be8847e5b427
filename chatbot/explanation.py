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
        originals = turn.split()
        first = len(words)
        words.extend({"text": w, "turn": speaker, "turn_index": k, "seen": False}
                     for w in originals)
        normalized = normalize(turn)
        raw = normalized.encode("utf-8")
        for piece in tokenizer.sp.encode(normalized, return_type="proto").pieces:
            index = min(first + raw[: piece.end].count(b" "), len(words) - 1)
            positions.append(index)
            if piece.id == tokenizer.unk_id:
                word = words[index]
                word["unknown"] = word.get("unknown", "") + piece.surface.strip()
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
    """What the sentence says: the (at most two) reply words that leaned hardest on one context
    word, and the visitor's longest-ignored word, if any."""
    answered: list[dict] = []
    used: set[int] = set()
    wordlike = [i for i, (text, _) in enumerate(reply) if any(ch.isalnum() for ch in text)]
    for r in sorted(wordlike, key=lambda i: -matrix[i].max() if matrix.shape[1] else 0):
        if not matrix.shape[1]:
            break
        c = int(matrix[r].argmax())
        if c in used or matrix[r, c] <= 0:
            continue
        used.add(c)
        answered.append({"reply": _bare(reply[r][0]), "context": _bare(words[c]["text"]),
                         "share": round(float(matrix[r, c]), 3)})
        if len(answered) == 2:
            break
    last_turn = max((w["turn_index"] for w in words), default=0)
    candidates = [i for i, w in enumerate(words)
                  if w["turn_index"] == last_turn and w["seen"] and i not in used
                  and sum(ch.isalpha() for ch in w["text"]) >= WORDLIKE_MIN]
    barely = None
    if len(candidates) >= 2 and len(matrix):
        mean = matrix.mean(0)
        i = min(candidates, key=lambda c: mean[c])
        barely = {"context": _bare(words[i]["text"]), "share": round(float(mean[i]), 3)}
    unseen = sum(not w["seen"] for w in words)
    return {"answered": answered, "barely": barely, "unseen_words": unseen}


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


def build(tokenizer: Tokenizer, turns: list[str], max_turns: int, max_len: int,
          pieces: list[str], force: dict) -> dict:
    """The whole explanation of one reply from one teacher-forced pass (`force`: numpy arrays of
    one row, see `CompiledDecoder.force`). The raw fields (`source`, `reply`, `attention`,
    `gates`) stay as they were for the terminal and older clients."""
    src = context_source(tokenizer, turns, max_turns, max_len)
    n = len(pieces)
    attention = np.asarray(force["attention"][:n, : len(src.position_word)], np.float64)
    words = reply_words(pieces)
    matrix = word_attention(attention, src, words)
    return {
        "source": tokenizer.pieces(tokenizer.encode_context(turns, max_turns, max_len)),
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
        "summary_data": summary_data(src.words, words, matrix),
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
