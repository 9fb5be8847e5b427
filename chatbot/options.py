"""How a reply is decoded: the modes and their options, without TensorFlow.

`MODE_TABLE` is the one list of decoding modes. The CLI's choices, serving's warm-up, the
settings page (its radios, which sliders apply; sent in the page's data JSON), the admin's
"options that applied" and bench.load all read it; `chatbot.decoding` runs the modes.
To add a mode: a row here, its branch in `CompiledDecoder.search`, and its translations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from chatbot.config import ConfigError, replace_checked

CANDIDATES = 64  # sampling looks at most at this many likeliest tokens
MAX_LEN = 64  # the longest reply any search may write, in pieces


def N_(text: str) -> str:
    """Marks a label for pybabel (`N_` is one of its default keywords); the web layer
    translates it when it renders, so this module needs no Flask."""
    return text


_COMMON = ("min_len", "max_len", "no_repeat_ngram", "repetition_penalty")
_SAMPLING = ("temperature", "top_k", "top_p", "seed")
# The options a visitor can set on the settings page; the rest keep the server's defaults.
PAGE_CONTROLS = ("beam_width", "temperature", "borrow")


@dataclasses.dataclass(frozen=True)
class Mode:
    """One way of writing a reply, with the options that shape it and its words for people."""

    name: str
    label: str  # English; translated where it is shown
    hint: str
    applies: tuple[str, ...]  # the DecodeOptions fields a reply in this mode depends on
    stochastic: bool  # draws words by chance: the server gives a request without a seed one

    def page_controls(self) -> list[str]:
        return [name for name in PAGE_CONTROLS if name in self.applies]


MODE_TABLE = (  # in the order the settings page lists them; the first is not the default
    Mode("rerank", N_("Best fit"),
         N_("Writes several replies and keeps the one that answers you best. Recommended."),
         ("candidates", "borrow", *_SAMPLING, *_COMMON), stochastic=True),
    Mode("greedy", N_("Most likely words"),
         N_("Always takes the likeliest next word: steady, sometimes dull."),
         _COMMON, stochastic=False),
    Mode("beam", N_("Compare drafts"), N_("Keeps several drafts going and returns the best one."),
         ("beam_width", "length_penalty", *_COMMON), stochastic=False),
    Mode("sample", N_("Varied"), N_("Picks words with a little chance: more surprising, less careful."),
         (*_SAMPLING, *_COMMON), stochastic=True),
)
MODES = tuple(mode.name for mode in MODE_TABLE)


def find_mode(name: str) -> Mode | None:
    return next((mode for mode in MODE_TABLE if mode.name == name), None)


def page_defaults() -> dict[str, Any]:
    """What the settings page sends with each message until a visitor changes it: the mode and
    its controls at the server's defaults (bench.load sends the same)."""
    defaults = DecodeOptions().to_dict()
    return {name: defaults[name] for name in ("mode", *PAGE_CONTROLS)}


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
