"""Configuration: the model's hyperparameters and the web app's settings.

Both are frozen dataclasses so a value read at start-up cannot drift while serving.
`ModelConfig` is saved as JSON inside every model bundle, so a bundle rebuilds itself;
`AppConfig` is read from the environment once, in the application factory.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration value is unknown or malformed."""


def _coerce(value: Any, kind: type) -> Any:
    if kind is bool and isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"not a boolean: {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"expected {kind.__name__}, got {value!r}") from exc


def replace_checked(obj: Any, overrides: Mapping[str, Any]) -> Any:
    """dataclasses.replace that rejects unknown keys and coerces strings (from CLI/env)."""
    fields = {f.name: f for f in dataclasses.fields(obj)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {type(obj).__name__} keys: {', '.join(unknown)}")
    typed = {}
    for key, value in overrides.items():
        kind = type(getattr(obj, key))
        typed[key] = value if value is None or isinstance(value, kind) else _coerce(value, kind)
    new = dataclasses.replace(obj, **typed)
    validate = getattr(new, "validate", None)
    if validate:
        validate()
    return new


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of the seq2seq model; saved beside the weights as config.json."""

    arch: str = "attention"  # "attention" (Lembra) or "baseline" (vanilla seq2seq, no attention)
    vocab_size: int = 8000
    embed_dim: int = 256
    enc_units: int = 256  # per direction; the decoder has 2 * enc_units
    enc_layers: int = 1
    dropout: float = 0.2
    tie_embeddings: bool = True
    max_src_len: int = 64
    max_tgt_len: int = 32
    context_turns: int = 3  # turns of history the encoder reads (1 = single-turn)
    # Retrieve and refine (Weston et al., 2018): the encoder first reads up to this many pieces
    # of an example reply, then the <ex> piece, then the context; 0 = no example.
    max_exemplar_len: int = 0
    copy: bool = False  # a pointer-generator copy gate (See et al., 2017) mixes in attention

    @property
    def max_source_len(self) -> int:
        """The longest encoder input: example, <ex> and context."""
        return self.max_src_len + (self.max_exemplar_len + 1 if self.max_exemplar_len else 0)

    @property
    def dec_units(self) -> int:
        return 2 * self.enc_units

    def validate(self) -> None:
        if self.arch not in ("attention", "baseline"):
            raise ConfigError(f"arch must be 'attention' or 'baseline', got {self.arch!r}")
        for name in ("vocab_size", "embed_dim", "enc_units", "enc_layers", "max_src_len",
                     "max_tgt_len", "context_turns"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive")
        if self.max_exemplar_len < 0:
            raise ConfigError("max_exemplar_len must be 0 or more")
        if self.copy and self.arch != "attention":
            raise ConfigError("copy needs arch 'attention': it copies through the attention")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("dropout must be in [0, 1)")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        return replace_checked(cls(), data)

    @classmethod
    def load(cls, path: str | Path) -> "ModelConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


# gunicorn's worker timeout (gunicorn.conf.py reads it), and so how long a request waits for its
# reply in the batching queue: a reply slower than this is not coming.
REPLY_TIMEOUT_S = 60

DEFAULT_SECRET = "dev-insecure-change-me"
MIN_SECRET_BYTES = 32  # an HMAC key shorter than this can be guessed or forged


def secret_key_problem(secret_key: str, production: bool) -> str | None:
    """Why `secret_key` must not sign cookies in production, or None when it may."""
    if not production:
        return None
    if secret_key == DEFAULT_SECRET:
        return "refusing to start in production with the default SECRET_KEY; set SECRET_KEY"
    if len(secret_key.encode()) < MIN_SECRET_BYTES:
        return (f"refusing to start in production with a SECRET_KEY of "
                f"{len(secret_key.encode())} bytes; set one of at least {MIN_SECRET_BYTES} "
                "random bytes (e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
    return None


@dataclasses.dataclass(frozen=True)
class AppConfig:
    """Web app settings, each overridable by the environment variable named in `ENV`."""

    database_url: str = "sqlite:///instance/lembra.db"
    model_dir: str = "models/default"
    models_root: str = "models"
    secret_key: str = DEFAULT_SECRET
    max_message_chars: int = 1000
    max_turns: int = 500
    max_content_length: int = 64 * 1024
    ratelimit_chat: str = "30 per minute"  # per visitor, messages and regenerations together
    ratelimit_chat_address: str = "30 per minute"  # per client address: new cookies don't add
    ratelimit_login: str = "10 per minute"
    admin_session_minutes: int = 30  # an admin is signed out after this long without a request
    admin_session_max_hours: int = 12  # and this long after signing in, however active
    model_check_seconds: float = 2.0  # how often each worker looks for a newly activated model
    ratelimit_storage_uri: str = ""  # "": a SQLite file every worker shares (web/limits.py)
    batch_window_ms: float = 5.0
    batch_max_size: int = 16
    xla: bool = True  # compile the sampler with XLA at warm-up (chatbot.decoding)
    production: bool = False
    proxy_hops: int = 0  # reverse proxies in front that set X-Forwarded-* (trust that many)

    ENV = {
        "database_url": "DATABASE_URL",
        "model_dir": "LEMBRA_MODEL_DIR",
        "models_root": "LEMBRA_MODELS_ROOT",
        "secret_key": "SECRET_KEY",
        "max_message_chars": "LEMBRA_MAX_MESSAGE_CHARS",
        "max_turns": "LEMBRA_MAX_TURNS",
        "max_content_length": "LEMBRA_MAX_CONTENT_LENGTH",
        "ratelimit_chat": "LEMBRA_RATELIMIT_CHAT",
        "ratelimit_chat_address": "LEMBRA_RATELIMIT_CHAT_ADDRESS",
        "ratelimit_login": "LEMBRA_RATELIMIT_LOGIN",
        "admin_session_minutes": "LEMBRA_ADMIN_SESSION_MINUTES",
        "admin_session_max_hours": "LEMBRA_ADMIN_SESSION_MAX_HOURS",
        "model_check_seconds": "LEMBRA_MODEL_CHECK_SECONDS",
        "ratelimit_storage_uri": "RATELIMIT_STORAGE_URI",
        "batch_window_ms": "LEMBRA_BATCH_WINDOW_MS",
        "batch_max_size": "LEMBRA_BATCH_MAX_SIZE",
        "xla": "LEMBRA_XLA",
        "production": "LEMBRA_PRODUCTION",
        "proxy_hops": "LEMBRA_PROXY_HOPS",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "AppConfig":
        environ = os.environ if environ is None else environ
        overrides = {key: environ[var] for key, var in cls.ENV.items() if var in environ}
        return replace_checked(cls(), overrides)

    def validate(self) -> None:
        problem = secret_key_problem(self.secret_key, self.production)
        if problem:
            raise ConfigError(problem)


@dataclasses.dataclass(frozen=True)
class ScorerConfig:
    """Hyperparameters of the relevance scorer (chatbot.scorer); saved inside scorer.keras."""

    vocab_size: int = 8000
    embed_dim: int = 256
    units: int = 256  # per direction of each side's bidirectional LSTM
    dim: int = 128  # width of the context and reply vectors whose dot product is the score
    dropout: float = 0.1
    max_src_len: int = 64
    max_tgt_len: int = 32
    context_turns: int = 3

    def validate(self) -> None:
        for name in ("vocab_size", "embed_dim", "units", "dim", "max_src_len", "max_tgt_len",
                     "context_turns"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("dropout must be in [0, 1)")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ScorerConfig":
        return replace_checked(cls(), data)
