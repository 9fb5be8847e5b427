"""One confidence scale for every reader of a reply: the visitor's panel and the admin's pages.

What is measured is the mean log-probability per piece the model gave the reply it wrote (stored
as `Message.confidence`); read as a share, exp of it is the geometric mean of the pieces'
probabilities. People read neither well, so both are shown as a word, with the share beside it
on hover. The cut-offs are odds a reader can picture: "sure" when the average piece had at least
even odds, "fairly sure" from one in four; docs/benchmarks.md ("Confidence levels") has how the
shipped model's replies fall.
"""

from __future__ import annotations

import math

# (level, the lowest share that earns it), most confident first.
LEVELS = (("sure", 0.5), ("fairly_sure", 0.25), ("unsure", 0.0))


def share(mean_logp: float) -> float:
    """The geometric mean probability of the pieces: 1 when every piece was certain."""
    return math.exp(min(0.0, mean_logp))


def level(probability: float) -> str:
    """The word for a share: "sure", "fairly_sure" or "unsure"."""
    return next(name for name, lowest in LEVELS if probability >= lowest)


def below(name: str) -> float:
    """The share under which a reply is less confident than `name` (for the admin's filter)."""
    return dict(LEVELS)[name]
