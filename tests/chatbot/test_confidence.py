"""The one confidence scale: a stored mean log-probability read as a share and a word."""

import math

import pytest

from chatbot import confidence


@pytest.mark.parametrize(("share", "level"), [
    (1.0, "sure"), (0.5, "sure"), (0.499, "fairly_sure"), (0.25, "fairly_sure"),
    (0.249, "unsure"), (0.0, "unsure")])
def test_levels_start_at_their_cut_offs(share, level):
    assert confidence.level(share) == level


def test_share_is_the_geometric_mean_probability():
    pieces = [0.9, 0.5, 0.2]
    mean_logp = sum(math.log(p) for p in pieces) / len(pieces)
    assert confidence.share(mean_logp) == pytest.approx((0.9 * 0.5 * 0.2) ** (1 / 3))
    assert confidence.share(0.0) == 1.0 and confidence.share(1e-6) == 1.0  # never above certain


def test_below_names_the_share_a_level_starts_at():
    assert confidence.below("sure") == 0.5 and confidence.below("fairly_sure") == 0.25
    assert [confidence.level(confidence.below(name)) for name, _ in confidence.LEVELS] == \
        [name for name, _ in confidence.LEVELS]
