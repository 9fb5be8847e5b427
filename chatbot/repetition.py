"""Stutters: a content word said twice within a few words ("cook and cook", "a movie movie").

The n-gram block of the searches stops exact repeats of word pairs, not a word coming back two
words later; the rerank passes over a candidate that does this, as it passes over an unfinished
one. Function words ("i", "the", "and") repeat in any fluent sentence and are not counted.
"""

from __future__ import annotations

import re

WINDOW = 3  # a repeat this many words later or sooner (within a span of four) reads as a stutter
WORD = re.compile(r"[a-zà-ÿ']+")
FUNCTION_WORDS = frozenset("""
a an the and or but so if of to in on at by for with from as is am are was were be been do does
did have has had i me my you your we our they them their he she it its his her this that these
those there here what who how when where why which not no yes very too just really all any some
one more much can will would could should like get got go going than then also about up out
""".split())


def repeats_a_word(text: str, window: int = WINDOW) -> bool:
    """True when a content word of at least three letters comes back within the next `window`
    words."""
    words = WORD.findall(text.lower())
    for i, word in enumerate(words):
        if len(word) >= 3 and word not in FUNCTION_WORDS and word in words[i + 1:i + 1 + window]:
            return True
    return False
