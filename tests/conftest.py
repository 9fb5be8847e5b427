"""Shared fixtures: a tiny model really trained by the training pipeline, in seconds, and a
temporary database.

With `LEMBRA_TEST_DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/test` the database is
PostgreSQL instead: a fresh database is created on that server and migrated once per session,
every table is emptied before each test, and tests marked `sqlite_only` are skipped.
"""

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from chatbot.storage.db import Base, make_engine, upgrade
from train.ensure_model import TEST_MODEL_ARGS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY_MODEL_ARGS = TEST_MODEL_ARGS


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """A bundle trained on 400 Chit-Chat pairs: real tokenizer, real weights, real files."""
    from train.train import main

    out = tmp_path_factory.mktemp("tiny_bundle")
    assert main([*TINY_MODEL_ARGS, "--out", str(out)]) == 0
    return out


TINY_SCORER_ARGS = ["--max-pairs", "300", "--epochs", "2", "--batch-size", "32", "--units", "16",
                    "--dim", "16", "--valid-pairs", "64", "--eval-limit", "60", "--seed", "5"]


@pytest.fixture(scope="session")
def scored_bundle(tiny_bundle, tmp_path_factory):
    """The tiny bundle with a relevance scorer and its reply memory (train.train_scorer)."""
    import shutil

    from train.train_scorer import main

    path = tmp_path_factory.mktemp("scored") / "bundle"
    shutil.copytree(tiny_bundle, path)
    work = path.parent / "work"
    assert main(["--model", str(path), "--work", str(work), *TINY_SCORER_ARGS]) == 0
    return path


@pytest.fixture(scope="session")
def refine_bundle(scored_bundle, tmp_path_factory):
    """A retrieve-and-refine model with the copy gate, fine-tuned from the scored tiny bundle
    (examples from its memory), which then gets the parent's scorer and memory."""
    import shutil

    from chatbot.bundle import MEMORY_FILE, SCORER_FILE
    from train.train import main

    out = tmp_path_factory.mktemp("refine") / "bundle"
    assert main([*TINY_MODEL_ARGS, "--epochs", "1", "--init-from", str(scored_bundle),
                 "--max-exemplar-len", "8", "--copy", "--out", str(out)]) == 0
    for name in (SCORER_FILE, MEMORY_FILE):
        shutil.copyfile(scored_bundle / name, out / name)
    return out


@pytest.fixture(scope="session")
def bot(tiny_bundle):
    """The tiny bundle loaded once per session."""
    from chatbot.bot import Bot

    return Bot.load(tiny_bundle)


TEST_DATABASE_URL = os.environ.get("LEMBRA_TEST_DATABASE_URL", "")
POSTGRES_URL = os.environ.get("LEMBRA_TEST_POSTGRES_URL",
                              "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only: needs the SQLite file itself (skipped on LEMBRA_TEST_DATABASE_URL)")
    config.addinivalue_line(
        "markers", "slow: takes more than 20 s; still in the default run (-m 'not slow' skips it)")


def pytest_collection_modifyitems(config, items):
    if not TEST_DATABASE_URL:
        return
    skip = pytest.mark.skip(reason="SQLite-specific; this run uses LEMBRA_TEST_DATABASE_URL")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


@contextlib.contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server at `server_url`, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception), admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def server_database() -> Iterator[str | None]:
    """None for SQLite; else a new, migrated database on the LEMBRA_TEST_DATABASE_URL server."""
    if not TEST_DATABASE_URL:
        yield None
        return
    with throwaway_database(TEST_DATABASE_URL, "lembra_test") as url:
        upgrade(url)
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, when a server is reachable (CI starts one)."""
    databases = contextlib.ExitStack()
    try:
        url = databases.enter_context(throwaway_database(POSTGRES_URL, "lembra_pg"))
    except Exception as exc:  # no server, no driver, no permission: nothing to test against
        pytest.skip(f"PostgreSQL not available: {type(exc).__name__}")
    with databases:
        yield url


def empty_tables(url: str) -> None:
    """Empty every table (failing, not hanging, if a leftover transaction holds a lock)."""
    engine = create_engine(url)
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '20s'"))
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path, server_database) -> str:
    """A migrated database with empty tables: a new SQLite file, or the emptied server one."""
    if server_database:
        empty_tables(server_database)
        return server_database
    url = f"sqlite:///{tmp_path / 'lembra.db'}"
    upgrade(url)
    return url


@pytest.fixture
def session(database_url) -> Iterator[Session]:
    """A session on `database_url`, as the app opens one per request."""
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()
