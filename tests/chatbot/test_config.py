"""chatbot.config, directly: the one place settings come from (environment, CLI, config.json)."""

import pytest

from chatbot.config import (
    DEFAULT_SECRET,
    AppConfig,
    ConfigError,
    ModelConfig,
    ScorerConfig,
    replace_checked,
    secret_key_problem,
)


def test_the_environment_overrides_the_defaults_with_types():
    config = AppConfig.from_env({"LEMBRA_MAX_TURNS": "12", "LEMBRA_XLA": "off",
                                 "LEMBRA_BATCH_WINDOW_MS": "2.5", "UNRELATED": "x"})
    assert (config.max_turns, config.xla, config.batch_window_ms) == (12, False, 2.5)
    assert AppConfig.from_env({}) == AppConfig()


@pytest.mark.parametrize(("env", "reason"), [
    ({"LEMBRA_MAX_TURNS": "many"}, "expected int"), ({"LEMBRA_XLA": "maybe"}, "not a boolean"),
    ({"LEMBRA_PRODUCTION": "1"}, "default SECRET_KEY"),
    ({"LEMBRA_PRODUCTION": "yes", "SECRET_KEY": "short"}, "of 5 bytes")])
def test_a_bad_setting_is_refused_with_its_reason(env, reason):
    with pytest.raises(ConfigError, match=reason):
        AppConfig.from_env(env)


def test_replace_checked_rejects_unknown_keys_and_validates():
    with pytest.raises(ConfigError, match="unknown ModelConfig keys: colour"):
        replace_checked(ModelConfig(), {"colour": "red"})
    with pytest.raises(ConfigError, match="dropout"):
        ModelConfig.from_dict({"dropout": "1.5"})
    with pytest.raises(ConfigError, match="copy needs arch"):
        ModelConfig.from_dict({"copy": True, "arch": "baseline"})
    with pytest.raises(ConfigError, match="units must be positive"):
        ScorerConfig.from_dict({"units": 0})


def test_model_config_round_trips_through_its_json(tmp_path):
    config = ModelConfig.from_dict({"enc_units": "24", "max_exemplar_len": 16, "copy": True})
    (tmp_path / "config.json").write_text(config.to_json())
    assert ModelConfig.load(tmp_path / "config.json") == config
    assert config.dec_units == 48 and config.max_source_len == config.max_src_len + 17


def test_a_production_secret_needs_32_random_bytes():
    assert secret_key_problem(DEFAULT_SECRET, production=False) is None
    assert "default" in secret_key_problem(DEFAULT_SECRET, production=True)
    assert secret_key_problem("x" * 32, production=True) is None
