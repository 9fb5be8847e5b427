"""The one table of decoding modes, and the defaults the settings page sends."""

import dataclasses

import pytest

from chatbot.config import ConfigError
from chatbot.options import MODE_TABLE, MODES, PAGE_CONTROLS, DecodeOptions, find_mode, page_defaults


def test_every_mode_names_only_real_options():
    fields = {f.name for f in dataclasses.fields(DecodeOptions)}
    assert len(set(MODES)) == len(MODES) == len(MODE_TABLE)
    for mode in MODE_TABLE:
        assert set(mode.applies) <= fields, mode.name
        assert mode.label and mode.hint
        assert ("seed" in mode.applies) == mode.stochastic  # a seed matters only to a draw


def test_the_page_controls_follow_the_options_a_mode_reads():
    controls = {mode.name: mode.page_controls() for mode in MODE_TABLE}
    assert controls == {"rerank": ["temperature", "borrow"], "greedy": [],
                        "beam": ["beam_width"], "sample": ["temperature"]}


def test_modes_are_found_by_name_and_validated_against_the_table():
    assert find_mode("beam").applies[0] == "beam_width" and find_mode("psychic") is None
    for name in MODES:
        DecodeOptions(mode=name).validate()
    with pytest.raises(ConfigError, match="mode must be one of rerank, greedy, beam, sample"):
        DecodeOptions(mode="psychic").validate()


def test_page_defaults_are_the_server_defaults_of_the_page_controls():
    defaults = page_defaults()
    assert list(defaults) == ["mode", *PAGE_CONTROLS]
    assert defaults == {k: v for k, v in DecodeOptions().to_dict().items() if k in defaults}
    assert defaults["mode"] == "rerank" and defaults["borrow"] is False
