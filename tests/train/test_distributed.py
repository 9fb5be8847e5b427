"""Multi-worker training for real: two `python -m train.train` processes on 127.0.0.1 with
TF_CONFIG (MultiWorkerMirroredStrategy on CPU) train one tiny model together."""

import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("hello how are you fine thanks what about the weather today sunny rain cold warm "
         "coffee tea music books reading walking dog cat work home tired happy").split()
TINY_ARGS = [
    "--corpus", "jsonl", "--epochs", "2", "--batch-size", "16", "--vocab-size", "60",
    "--embed-dim", "16", "--enc-units", "16", "--dropout", "0.0", "--learning-rate", "0.01",
    "--eval-limit", "0", "--seed", "3", "--max-entropy", "0", "--max-src-len", "24",
    "--max-tgt-len", "12",
]


def tiny_corpus(path: Path) -> Path:
    rng = random.Random(0)
    with open(path, "w") as f:
        for _ in range(120):
            turns = [" ".join(rng.choices(WORDS, k=rng.randint(2, 6))) for _ in range(3)]
            f.write(json.dumps({"turns": turns}) + "\n")
    return path


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def fingerprint(log: str) -> str:
    found = re.findall(r"weights fingerprint ([0-9a-f]{16})", log)
    assert len(found) == 1, log[-3000:]
    return found[0]


@pytest.mark.slow
def test_two_workers_train_one_model_and_only_the_chief_writes(tmp_path):
    from chatbot.bot import Bot
    from chatbot.decoding import DecodeOptions
    from train.train import weights_fingerprint

    data = tiny_corpus(tmp_path / "chats.jsonl")
    out = tmp_path / "bundle"  # the same --out on both, as on a shared disk
    cluster = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs = []
    for index in range(2):
        temp = tmp_path / f"tmp{index}"
        temp.mkdir()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp),
               "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
               "TF_CONFIG": json.dumps({"cluster": {"worker": cluster},
                                        "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "train.train", *TINY_ARGS, "--data", str(data),
             "--out", str(out)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=400)[0])
    finally:
        for proc in procs:
            proc.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(log[-3000:] for log in logs)

    chief, worker = fingerprint(logs[0]), fingerprint(logs[1])
    assert chief == worker  # every weight equal after the same synchronized steps
    assert "worker done" in logs[1] and "worker done" not in logs[0]
    assert not any((tmp_path / "tmp1").iterdir())  # the worker's own files are gone
    history = (out / "history.csv").read_text().strip().splitlines()
    assert len(history) == 3  # the chief's log of both epochs, not written twice

    bot = Bot.load(out)
    assert weights_fingerprint(bot.bundle.model) == chief
    assert bot.reply(["hello how are you"], DecodeOptions(mode="greedy")).pieces


def tf_config(kind: str, index: int, chief: bool = False) -> str:
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"], **({"chief": ["127.0.0.1:3"]} if chief else {})}
    return json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})


@pytest.mark.parametrize("config, chief", [
    (tf_config("worker", 0), True),
    (tf_config("worker", 1), False),
    (tf_config("worker", 0, chief=True), False),
    (tf_config("chief", 0, chief=True), True),
])
def test_only_the_chief_writes_out(config, chief, monkeypatch, tmp_path):
    from train.config import TrainConfig
    from train.distributed import cluster_task, output_dir

    monkeypatch.setenv("TF_CONFIG", config)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where mkdtemp writes
    (tmp_path / "tmp").mkdir()
    assert cluster_task() == (True, chief)
    out = output_dir(TrainConfig(out=str(tmp_path / "out")))
    assert (out == tmp_path / "out") == chief
    assert chief or out.parent == tmp_path / "tmp"


@pytest.mark.parametrize("args, message", [
    (["--resume"], "--resume"),
    (["--time-budget-min", "5"], "--time-budget-min"),
])
def test_settings_that_workers_cannot_agree_on_are_refused(args, message, monkeypatch, tmp_path,
                                                           capsys):
    from train.train import main

    monkeypatch.setenv("TF_CONFIG", tf_config("worker", 0))
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("train: error:") and message in err and "\n" not in err


def test_a_malformed_tf_config_is_one_line(monkeypatch, tmp_path, capsys):
    from train.train import main

    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    assert main(["--out", str(tmp_path / "out")]) == 2
    assert "TF_CONFIG" in capsys.readouterr().err
