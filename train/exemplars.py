"""Training examples for retrieve and refine: which reply each training pair sees in its encoder.

Weston, Dinan and Miller (2018) append a retrieved reply to the generator's input; trained on
replies retrieved by context alone, the generator learns to ignore them, since most are far from
the reply it must write. Two remedies, both here:

- the example is one of the top `k` replies retrieved for the context, re-sorted by the scorer's
  similarity to the true reply (Weston et al.'s "related to the gold" exemplars);
- a share `alpha` of pairs see their own true reply (Roller et al., 2020, alpha-blending), so
  the model learns that an example is worth reading, and a share `none_share` see none, so it
  still answers without one.

An example never comes from the pair's own conversation: the memory holds every training reply,
and a neighbouring turn would teach it to expect an example that already knows the conversation.
Draws are seeded, so a resumed run sees the same examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatbot.reply_memory import text_key
from train.pairs import make_pairs

CHUNK = 2048  # contexts searched per matrix product: (CHUNK, N) floats stay under 1 GB


@dataclass(frozen=True)
class Recipe:
    alpha: float = 0.4  # share of pairs whose example is their own reply
    none_share: float = 0.1  # share of pairs with no example at all
    k: int = 10  # retrieved replies re-sorted by their similarity to the true reply
    seed: int = 1234


def conversation_keys(convs, context_turns: int, shorten: float):
    """(pair -> conversation id, conversation id -> the keys of all its turns), with pairs made
    exactly as `train.pairs.make_pairs` makes them."""
    of_pair, keys = {}, {}
    for conv in convs:
        keys[conv.id] = {text_key(turn.text) for turn in conv.turns}
        for context, reply in make_pairs([conv], context_turns, shorten):
            of_pair[(tuple(context), reply)] = conv.id
    return of_pair, keys


def draws(n: int, recipe: Recipe) -> np.ndarray:
    """Per pair: 0 no example, 1 its own reply, 2 a retrieved one."""
    u = np.random.default_rng(recipe.seed).random(n)
    return np.where(u < recipe.none_share, 0, np.where(u < recipe.none_share + recipe.alpha, 1, 2))


def choose(pairs, excluded: list[set[str]], texts: list[str], vectors: np.ndarray,
           contexts: np.ndarray, golds: np.ndarray, recipe: Recipe, bonus=None) -> list[str | None]:
    """The example of each (context, reply) pair.

    `texts`/`vectors`: the reply memory (unit rows); `contexts`/`golds`: the scorer's vectors of
    each pair's context and true reply; `excluded[i]`: keys (`chatbot.reply_memory.text_key`) of replies pair
    i may not see (its conversation's turns). `bonus(rows)`, if given, is added to the fit of
    every memory reply for those pairs (rows, N) before the top `k` are taken, so the examples
    are drawn from the replies serving would retrieve (its message match).
    """
    kind = draws(len(pairs), recipe)
    memory_keys = [text_key(t) for t in texts]
    out: list[str | None] = [None] * len(pairs)
    wanted = np.flatnonzero(kind == 2)
    depth = min(len(texts), recipe.k + 16)  # room for the excluded ones
    for start in range(0, len(wanted), CHUNK):
        rows = wanted[start:start + CHUNK]
        scores = contexts[rows] @ vectors.T
        if bonus is not None:
            scores += bonus(rows)
        top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1)
        top = np.take_along_axis(top, order, 1)
        for row, candidates in zip(rows, top):
            allowed = [j for j in candidates if memory_keys[j] not in excluded[row]][: recipe.k]
            if allowed:
                best = allowed[int(np.argmax(vectors[allowed] @ golds[row]))]
                out[row] = texts[best]
    for i in np.flatnonzero(kind == 1):
        out[i] = pairs[i][1]
    return out


def exemplars_for(bot, pairs, of_pair: dict, keys: dict, recipe: Recipe) -> list[str | None]:
    """`choose` with the scorer and memory of a `chatbot.bot.Bot`, retrieving as it serves (the
    scorer's fit plus its weighted message match); a pair whose conversation is unknown excludes
    only its own turns."""
    contexts = bot.context_vectors([list(c) for c, _ in pairs])
    golds = bot.scorer.replies([bot.tokenizer.encode(r) for _, r in pairs])
    excluded = []
    for context, reply in pairs:
        conv = of_pair.get((tuple(context), reply))
        excluded.append(keys[conv] if conv is not None else {text_key(t) for t in (*context, reply)})
    bonus = None
    if bot.matcher is not None:
        def bonus(rows):
            return bot.match_weight() * bot.message_similarities([list(pairs[r][0]) for r in rows])

    memory = bot.memory
    return choose(pairs, excluded, memory.texts, memory.vectors, contexts, golds, recipe, bonus)
