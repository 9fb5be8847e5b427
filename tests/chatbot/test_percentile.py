"""The one percentile: numpy's linear interpolation, None for no values."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatbot.percentile import percentile


def test_percentile():
    assert percentile([3, 1, 2], 50) == 2.0
    assert percentile([10, 20], 95) == pytest.approx(19.5)
    assert percentile([7], 95) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1, 2], 101)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_matches_numpy(values, q):
    assert percentile(values, q) == pytest.approx(np.percentile(values, q), abs=1e-6)
