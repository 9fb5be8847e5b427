"""The training CLI end to end: a tiny corpus trains, its loss falls, the bundle reloads, resume."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatbot.bot import Bot
from chatbot.decoding import DecodeOptions
from tests.conftest import TINY_MODEL_ARGS
from train.train import cpu_has_bfloat16, learning_rate_at, main

ROOT = Path(__file__).resolve().parents[2]


def history(bundle: Path) -> list[dict]:
    with open(bundle / "history.csv") as f:
        return list(csv.DictReader(f))


def test_tiny_training_loss_falls(tiny_bundle):
    rows = history(tiny_bundle)
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])


def test_bundle_has_every_file(tiny_bundle):
    for name in ("model.keras", "tokenizer.model", "config.json", "manifest.json", "history.csv",
                 "curves.png", "train_config.json"):
        assert (tiny_bundle / name).is_file(), name
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    assert manifest["corpus"] == "chitchat"


def test_bundle_reloads_and_replies_the_same(tiny_bundle):
    options = DecodeOptions(mode="beam")
    first = Bot.load(tiny_bundle).reply(["hello, how are you?"], options)
    second = Bot.load(tiny_bundle).reply(["hello, how are you?"], options)
    assert first.pieces == second.pieces and first.pieces


@pytest.mark.parametrize("args, message", [
    (["--corpus", "nope"], "unknown corpus"),
    (["--corpus", "jsonl", "--data", "/does/not/exist.jsonl"], "exist"),
    (["--epochs", "0"], "positive"),
    (["--init-from", "/nowhere"], "not a model bundle"),
    (["--arch", "transformer"], "arch"),
    (["--direction", "sideways"], "direction"),
    (["--shorten", "1.5"], "shorten"),
    (["--ema", "1.0"], "ema"),
])
def test_bad_arguments_exit_with_one_line(args, message, tmp_path, capsys):
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("train: error:") and message in err and "\n" not in err


def test_malformed_corpus_names_file_and_line(tmp_path, capsys):
    data = tmp_path / "chats.jsonl"
    data.write_text('{"turns": ["hi", "hello"]}\n{not json\n')
    assert main(["--corpus", "jsonl", "--data", str(data), "--out", str(tmp_path / "o")]) == 2
    assert f"{data}:2:" in capsys.readouterr().err


def test_resume_continues_from_the_saved_epoch(tmp_path):
    """Kill a run after its first epoch, resume it, and find each epoch trained exactly once."""
    out = tmp_path / "bundle"
    args = [sys.executable, "-m", "train.train", *TINY_MODEL_ARGS, "--epochs", "6",
            "--patience", "10", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (out / "history.csv").is_file() and len(history(out)) >= 1:
                break
            time.sleep(0.2)
        else:
            pytest.fail("first epoch never finished")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = len(history(out))
    assert 1 <= done_before < 6, "the run must be interrupted part-way"
    resumed = subprocess.run([*args, "--resume"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming after epoch {done_before}" in resumed.stdout
    epochs = [int(r["epoch"]) for r in history(out)]
    assert epochs == list(range(6))
    assert (out / "model.keras").is_file()


def test_mixed_precision_trains_and_saves_float32(tmp_path):
    import keras

    out = tmp_path / "mixed"
    args = [a for a in TINY_MODEL_ARGS]
    args[args.index("--epochs") + 1] = "1"
    assert main([*args, "--mixed-precision", "on", "--out", str(out)]) == 0
    assert keras.mixed_precision.global_policy().name == "float32"
    model = Bot.load(out).bundle.model
    assert {w.dtype for w in model.weights} == {"float32"}
    assert Bot.load(out).reply(["hello"], DecodeOptions(mode="greedy")).pieces


@pytest.mark.parametrize("flags, native", [
    ("fpu sse avx2 avx512f avx512_bf16 avx512_vnni", True),
    ("fpu sse avx2 amx_bf16 amx_tile", True),
    ("fpu sse avx2 avx512f", False),
])
def test_bfloat16_is_used_only_where_the_cpu_has_it(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert cpu_has_bfloat16(str(cpuinfo)) is native
    assert cpu_has_bfloat16(str(tmp_path / "missing")) is False


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    assert learning_rate_at(0.0, 1.0, 0.1, cosine=True) == pytest.approx(0.01)
    assert learning_rate_at(0.05, 1.0, 0.1, cosine=True) == pytest.approx(0.5)
    assert learning_rate_at(0.1, 1.0, 0.1, cosine=True) == pytest.approx(1.0)
    assert learning_rate_at(0.55, 1.0, 0.1, cosine=True) == pytest.approx(0.55)
    assert learning_rate_at(1.0, 1.0, 0.1, cosine=True) == pytest.approx(0.1)
    assert learning_rate_at(0.9, 1.0, 0.0, cosine=False) == 1.0


def test_backward_model_with_weight_averaging(tmp_path, capsys):
    """--direction backward trains p(message | reply) on the same pipeline; with --ema the bundle
    keeps whichever of the average and the best checkpoint validates better."""
    args = [a for a in TINY_MODEL_ARGS]
    args[args.index("--epochs") + 1] = "1"
    out = tmp_path / "backward"
    assert main([*args, "--direction", "backward", "--ema", "0.9", "--out", str(out)]) == 0
    assert json.loads((out / "train_config.json").read_text())["direction"] == "backward"
    assert "validation loss: weight average" in capsys.readouterr().out
    assert Bot.load(out).reply(["i have a cat"], DecodeOptions(mode="greedy")).text
