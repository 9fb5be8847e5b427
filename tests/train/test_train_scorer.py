"""train.train_scorer on the tiny bundle: a scorer and a memory that the bot then uses."""

import json
import shutil

import numpy as np
import pytest

from chatbot.bot import Bot
from chatbot.bundle import (
    MEMORY_FILE,
    METRICS_FILE,
    SCORER_CURVES_FILE,
    SCORER_FILE,
    SCORER_HISTORY_FILE,
    bundle_version,
)
from chatbot.decoding import DecodeOptions
from tests.conftest import TINY_SCORER_ARGS
from train.train_scorer import main


def test_writes_the_scorer_its_memory_curves_and_figures(scored_bundle):
    for name in (SCORER_FILE, MEMORY_FILE, SCORER_HISTORY_FILE, SCORER_CURVES_FILE):
        assert (scored_bundle / name).is_file(), name
    scorer = json.loads((scored_bundle / METRICS_FILE).read_text())["scorer"]
    assert scorer["epochs"] == 2 and scorer["n"] == 60
    assert 0.0 <= scorer["hits_at_1_scorer"] <= 1.0
    assert 0.0 <= scorer["hits_at_1_of_100_scorer"] <= 1.0
    assert scorer["memory_replies"] > 100


def test_the_bot_retrieves_from_the_memory_and_ranks_by_fit(scored_bundle):
    bot = Bot.load(scored_bundle)
    assert bot.scorer is not None and len(bot.memory) > 100
    found = bot.retrieve(["do you like to cook?"], k=5)
    assert len(found) == 5 and all(f["text"] in bot.memory.texts for f in found)
    assert [f["fit"] for f in found] == sorted((f["fit"] for f in found), reverse=True)
    fits = bot.fit([["hi"], ["hi"]], [bot.tokenizer.encode("hello"), bot.tokenizer.encode("x")])
    assert fits.shape == (2,) and np.all(np.abs(fits) <= 1.0 + 1e-5)
    reply = bot.reply(["do you like to cook?"], DecodeOptions(seed=1), explain=True)
    assert reply.text
    assert all(c["fit"] is not None for c in reply.explanation["candidates"])


def test_the_scorer_changes_the_bundle_version(scored_bundle, tiny_bundle):
    assert bundle_version(scored_bundle).rsplit("-", 1)[1] != \
        bundle_version(tiny_bundle).rsplit("-", 1)[1]


def test_a_bundle_without_a_scorer_still_replies(bot):
    assert bot.scorer is None and bot.retrieve(["hello"]) == []
    assert bot.fit([["hello"]], [[5, 6]]) is None
    assert bot.reply(["hello"], DecodeOptions(seed=2)).text


def test_resume_continues_an_interrupted_run_from_its_last_epoch(tiny_bundle, tmp_path):
    """Kill a run after its first epoch, resume it, and find each epoch trained exactly once."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, path)
    work = tmp_path / "work"
    args = [sys.executable, "-m", "train.train_scorer", "--model", str(path), "--work", str(work),
            *TINY_SCORER_ARGS, "--no-evaluate", "--no-memory", "--epochs", "30", "--patience", "50"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    history = work / "history.csv"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (history.is_file()
                                                   and len(history.read_text().splitlines()) > 1):
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = len(history.read_text().splitlines()) - 1
    assert 1 <= done < 30, "the run must be interrupted part-way"
    resumed = subprocess.run([*args, "--resume", "--epochs", str(done + 2)], cwd=root, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming after epoch {done}" in resumed.stdout
    epochs = [int(r.split(",")[0]) for r in history.read_text().splitlines()[1:]]
    assert epochs == list(range(done + 2))
    assert (path / SCORER_FILE).is_file()


def test_only_memory_rebuilds_the_memory_with_the_messages_its_replies_followed(scored_bundle,
                                                                                 tmp_path):
    from chatbot.reply_memory import ReplyMemory

    before = ReplyMemory.load(scored_bundle / MEMORY_FILE)
    ReplyMemory(before.texts, before.vectors).save(tmp_path / "old.npz")  # as older bundles had
    assert ReplyMemory.load(tmp_path / "old.npz").messages is None
    assert main(["--model", str(scored_bundle), "--only-memory", "--out", str(tmp_path)]) == 0
    rebuilt = ReplyMemory.load(tmp_path / MEMORY_FILE)
    assert rebuilt.texts == before.texts and len(rebuilt.messages) == len(rebuilt.texts)
    assert all(rebuilt.messages) and rebuilt.messages == before.messages
    np.testing.assert_allclose(rebuilt.vectors, before.vectors, atol=1e-5)


@pytest.mark.parametrize("args, message", [
    (["--model", "/no/such/bundle"], "is not a directory"),
    ([], "--model is required"),
    (["--model", "{tiny}", "--batch-size", "1"], "batch_size at least 2"),
    (["--model", "{tiny}", "--only-memory"], "has no scorer.keras"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tiny_bundle, capsys):
    args = [a.replace("{tiny}", str(tiny_bundle)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
