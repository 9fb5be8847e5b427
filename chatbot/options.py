"""How a reply is decoded: the modes and their options, without TensorFlow.

The CLI's choices, the web app's defaults (sent to the page in its data JSON), the admin's
"options that applied" and bench.load all read them from here; `chatbot.decoding` runs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from chatbot.config import ConfigError, replace_checked

MODES = ("rerank", "sample", "greedy", "beam")
CANDIDATES = 64  # sampling looks at most at this many likeliest tokens
MAX_LEN = 64  # the longest reply any search may write, in pieces


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
    """How to pick reply tokens; the defaults are what the web app uses."""

    mode: str = "rerank"
    candidates: int = 8  # rerank: replies sampled, of which the best is shown
    beam_width: int = 4
    length_penalty: float = 0.6
    no_repeat_ngram: int = 3
    min_len: int = 2
    max_len: int = 40
    temperature: float = 0.7
    top_k: int = 0
    top_p: float = 0.9
    repetition_penalty: float = 1.0
    seed: int | None = None
    # "Allow replies taken from the training conversations": a retrieved reply may be shown as
    # it is when it fits the conversation clearly better than every draft (off: the LSTM writes).
    borrow: bool = False

    def validate(self) -> None:
        checks = [
            (self.mode in MODES, f"mode must be one of {', '.join(MODES)}"),
            (1 <= self.candidates <= 16, "candidates must be between 1 and 16"),
            (1 <= self.beam_width <= 8, "beam_width must be between 1 and 8"),
            (0.0 <= self.length_penalty <= 2.0, "length_penalty must be between 0 and 2"),
            (0 <= self.no_repeat_ngram <= 6, "no_repeat_ngram must be between 0 and 6"),
            (1 <= self.max_len <= MAX_LEN, f"max_len must be between 1 and {MAX_LEN}"),
            (0 <= self.min_len <= self.max_len, "min_len must be between 0 and max_len"),
            (0.0 <= self.temperature <= 5.0, "temperature must be between 0 and 5"),
            (0 <= self.top_k <= CANDIDATES, f"top_k must be between 0 and {CANDIDATES}"),
            (0.0 < self.top_p <= 1.0, "top_p must be in (0, 1]"),
            (1.0 <= self.repetition_penalty <= 3.0, "repetition_penalty must be between 1 and 3"),
            (self.seed is None or 0 <= self.seed < 2**31, "seed must be a non-negative int"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "DecodeOptions":
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError("options must be an object")
        data = dict(data)
        if data.get("seed") is not None:
            data["seed"] = _int_value(data["seed"], "seed")
        options = replace_checked(cls(), {k: v for k, v in data.items() if k != "seed"})
        options = dataclasses.replace(options, seed=data.get("seed"))
        options.validate()
        return options

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _int_value(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer") from exc
