"""Fine-tuning on collected transcripts: parent's tokenizer kept, base corpus mixed in, metrics."""

import json

from train.train import main

TRANSCRIPT = {
    "id": "c1", "created_at": "2026-11-27T08:00:00+00:00", "model_versions": ["tiny-1"],
    "turns": [
        {"role": "user", "text": "hello there"},
        {"role": "bot", "text": "hi hi hi", "correction": "hi! how is your day going?",
         "rating": -1},
        {"role": "user", "text": "pretty good, i just walked my dog"},
        {"role": "bot", "text": "what kind of dog is it?", "rating": 1},
    ],
}


def write_export(path, n=40):
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({**TRANSCRIPT, "id": f"c{i}"}) + "\n")


def test_fine_tune_from_transcripts(tiny_bundle, tmp_path):
    export = tmp_path / "export.jsonl"
    write_export(export)
    out = tmp_path / "tuned"
    code = main(["--corpus", "transcripts", "--from", str(export), "--init-from", str(tiny_bundle),
                 "--epochs", "1", "--batch-size", "16", "--base-mix", "0.5", "--eval-limit", "5",
                 "--out", str(out)])
    assert code == 0
    assert (out / "tokenizer.model").read_bytes() == (tiny_bundle / "tokenizer.model").read_bytes()
    assert json.loads((out / "config.json").read_text()) == json.loads(
        (tiny_bundle / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["split"] == "test"  # held-out slice of the transcripts
    assert metrics["base_test"]["corpus"][0] == "chitchat"
    assert metrics["parent"]["path"] == str(tiny_bundle)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["corpus"] == "transcripts"
    assert json.loads((out / "train_config.json").read_text())["init_from"] == str(tiny_bundle)
