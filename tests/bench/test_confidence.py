"""bench.confidence: the prompts it answers and how it reports the levels."""

from bench.confidence import levels, prompts


def test_prompts_come_from_every_round_in_turn():
    asked = prompts(6)
    assert len(asked) == 6 and len(set(asked)) == 6
    assert all(isinstance(p, str) and p for p in asked)


def test_levels_report_quantiles_and_shares():
    out = levels([0.1, 0.3, 0.6, 0.9])
    assert out["replies"] == 4
    assert out["share_at_level"] == {"sure": 0.5, "fairly_sure": 0.25, "unsure": 0.25}
    assert out["quantiles"]["0.5"] == 0.45
