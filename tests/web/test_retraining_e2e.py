"""The retraining loop end to end: chat through the API with the real tiny model, rate a reply,
suggest a better answer, accept it as admin, export JSONL, fine-tune a child of the serving
bundle on that export, see it beside its parent on the models page, activate it there, and find
the next reply recorded with the new version (and both versions on the dashboard)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from sqlalchemy import select

from chatbot.storage.db import Message
from chatbot.web.database import get_session
from train.corpora import load_transcripts

pytestmark = pytest.mark.slow

CONVERSATIONS = 27
PARENT_TEST = {"bleu": 0.0123, "perplexity_per_word": 456.0, "mean_reply_words": 4.5}
LINES = ["hello there", "how are you today?", "what do you like to do?", "do you have a pet?",
         "what is your favorite food?", "where do you live?", "i like music", "good night"]


def say(visitor, conversation: int, text: str) -> dict:
    response = visitor.post(f"/api/conversations/{conversation}/messages", {"text": text})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reply"]


def test_transcripts_to_a_fine_tuned_model_serving_the_next_reply(
        make_app, admin_for, visitor_for, tiny_bundle, tmp_path):
    from train.train import main as train

    root = tmp_path / "models"
    parent = root / "parent"
    shutil.copytree(tiny_bundle, parent, ignore=shutil.ignore_patterns("checkpoints"))
    (parent / "metrics.json").write_text(json.dumps({"test": PARENT_TEST}))
    app = make_app(MODEL_DIR=str(parent), MODELS_ROOT=str(root), LOAD_MODEL=True,
                   WARM_UP=False, MODEL_CHECK_SECONDS=0)
    visitor, admin = visitor_for(app), admin_for(app)

    # Conversations through the API: 27 of them, so ids 25-26 fall in the validation split and
    # 27 in the test split (train.pairs.split_of hashes the id).
    replies = []
    for i in range(CONVERSATIONS):
        conversation = visitor.new_conversation()
        replies += [say(visitor, conversation, LINES[i % len(LINES)]),
                    say(visitor, conversation, LINES[(i + 3) % len(LINES)])]
    old_version = replies[0]["model_version"]
    assert old_version.startswith("parent-")
    assert {r["model_version"] for r in replies} == {old_version}

    # Feedback and a correction, accepted by an admin.
    target = replies[0]
    assert visitor.post(f"/api/messages/{target['id']}/feedback",
                        {"rating": -1}).status_code == 200
    correction = visitor.post(f"/api/messages/{target['id']}/correction",
                              {"text": "hi! nice to meet you"})
    assert correction.status_code == 201
    page = admin.get(f"/admin/transcripts/{target['conversation_id']}").get_data(as_text=True)
    assert "hi! nice to meet you" in page
    assert admin.post(f"/admin/corrections/{correction.get_json()['id']}/accept").status_code == 302

    # The export carries the accepted correction as the bot turn's training target.
    export = admin.get("/admin/export.jsonl")
    assert export.status_code == 200
    export_path = tmp_path / "export.jsonl"
    export_path.write_bytes(export.data)
    records = {r["id"]: r for r in map(json.loads, export.get_data(as_text=True).splitlines())}
    assert len(records) == CONVERSATIONS
    turn = records[str(target["conversation_id"])]["turns"][1]
    assert turn["role"] == "bot" and turn["rating"] == -1
    assert turn["correction"] == "hi! nice to meet you" and turn["text"] == target["text"]
    loaded = {c.id: c for c in load_transcripts(export_path)}
    assert loaded[str(target["conversation_id"])].turns[1].text == "hi! nice to meet you"

    # Fine-tune a child for one epoch, keeping the parent's tokenizer.
    child = root / "child"
    assert train(["--corpus", "transcripts", "--from", str(export_path),
                  "--init-from", str(parent), "--epochs", "1", "--batch-size", "8",
                  "--base-mix", "0.5", "--eval-limit", "5", "--out", str(child)]) == 0
    assert (child / "tokenizer.model").read_bytes() == (parent / "tokenizer.model").read_bytes()
    metrics = json.loads((child / "metrics.json").read_text())
    assert {"test", "base_test", "parent"} <= set(metrics)
    assert json.loads((child / "train_config.json").read_text())["init_from"] == str(parent)

    # The models page shows the child beside its parent, with the figures side by side.
    page = admin.get("/admin/models").get_data(as_text=True)
    card = page[page.index('id="bundle-child"'):]
    card = card[:card.index("</article>")]
    assert 'Fine-tuned from <a href="#bundle-parent">parent</a>' in card
    assert "Base test split" in card and "Parent, test split" in card
    bleu_row = re.search(r'<th scope="row">BLEU<span class="figure-help">[^<]*</span></th>(.*?)</tr>',
                         card, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", bleu_row)
    assert len(cells) == 3 and cells[2] == "0.0123"

    # Activate the child through the admin page: the next reply comes from it.
    assert admin.post("/admin/models/child/activate").status_code == 302
    conversation = visitor.new_conversation()
    reply = say(visitor, conversation, "hello again")
    assert reply["model_version"].startswith("child-")
    assert reply["model_version"] != old_version
    with app.app_context():
        stored = get_session().scalar(select(Message).where(Message.id == reply["id"]))
        assert stored.model_version == reply["model_version"]

    # The dashboard compares the two versions: replies, words per reply, thumbs.
    stats = admin.get("/admin/api/stats").get_json()
    per_model = {row["model"]: row for row in stats["models"]}
    assert per_model[old_version]["replies"] == 2 * CONVERSATIONS and per_model[old_version]["down"] == 1
    assert per_model[reply["model_version"]]["replies"] == 1
    assert all(row["mean_words"] > 0 for row in per_model.values())
    dashboard = admin.get("/admin/dashboard").get_data(as_text=True)
    assert "Mean words per reply" in dashboard and reply["model_version"] in dashboard
