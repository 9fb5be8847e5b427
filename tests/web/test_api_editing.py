"""The API behind the chat page's conversation menu and message editing: rename, edit the last
message and answer it again, export one conversation as JSON or Markdown."""

from __future__ import annotations

import pytest


def test_rename_a_conversation(visitor, visitor_for, app):
    conversation_id = visitor.new_conversation()
    renamed = visitor.patch(f"/api/conversations/{conversation_id}", {"title": "  Trip plans  "})
    assert renamed.status_code == 200
    assert renamed.get_json()["title"] == "Trip plans"
    listed = visitor.get("/api/conversations").get_json()["conversations"]
    assert [c["title"] for c in listed] == ["Trip plans"]
    long = visitor.patch(f"/api/conversations/{conversation_id}", {"title": "word " * 40}).get_json()
    assert len(long["title"]) <= 80 and long["title"].endswith("…")
    stranger = visitor_for(app)
    assert stranger.patch(f"/api/conversations/{conversation_id}", {"title": "mine"}).status_code == 404


@pytest.mark.parametrize("body", [{}, {"title": ""}, {"title": "   "}, {"title": 3},
                                  {"title": "\u200b"}, {"title": "a\x00b"}])
def test_rename_refuses_a_title_nobody_can_see(visitor, body):
    conversation_id = visitor.new_conversation()
    visitor.patch(f"/api/conversations/{conversation_id}", {"title": "kept"})
    response = visitor.patch(f"/api/conversations/{conversation_id}", body)
    assert response.status_code == 422 and "title" in response.get_json()["error"]
    assert visitor.get(f"/api/conversations/{conversation_id}").get_json()["title"] == "kept"


def test_edit_the_last_message_answers_it_again(chatter):
    conversation_id = chatter.new_conversation()
    first = chatter.post(f"/api/conversations/{conversation_id}/messages",
                         {"text": "helo there"}).get_json()
    edited = chatter.patch(f"/api/messages/{first['user']['id']}", {"text": "hello there"})
    assert edited.status_code == 200
    body = edited.get_json()
    user = body["user"]
    assert user["text"] == "hello there" and user["id"] > first["reply"]["id"]  # a new branch
    assert body["replaced"] == first["reply"]["id"]
    old, new = user["versions"]
    assert (old["id"], old["text"], new["id"]) == (first["user"]["id"], "helo there", user["id"])
    assert [r["id"] for r in old["replies"]] == [first["reply"]["id"]] and "replies" not in new
    conversation = chatter.get(f"/api/conversations/{conversation_id}").get_json()
    assert [m["text"] for m in conversation["messages"]] == ["hello there", body["reply"]["text"]]
    assert conversation["messages"][0]["versions"] == user["versions"]
    assert [v["id"] for v in conversation["messages"][1]["versions"]] == [body["reply"]["id"]]
    assert conversation["title"] == "hello there"  # the title came from the edited message


def test_an_older_wordings_reply_keeps_its_rating_and_its_own_context(chatter):
    conversation_id = chatter.new_conversation()
    first = chatter.post(f"/api/conversations/{conversation_id}/messages",
                         {"text": "i love cooking pasta"}).get_json()
    assert chatter.post(f"/api/messages/{first['reply']['id']}/feedback", {"rating": -1}).status_code == 200
    edited = chatter.patch(f"/api/messages/{first['user']['id']}", {"text": "i love hiking"}).get_json()
    # thumbs on the reply shown under the older wording stay on that reply
    assert chatter.post(f"/api/messages/{first['reply']['id']}/feedback", {"rating": 1}).status_code == 200
    old = chatter.get(f"/api/conversations/{conversation_id}").get_json()["messages"][0]["versions"][0]
    assert old["replies"][0]["feedback"]["rating"] == 1
    assert chatter.get(f"/api/conversations/{conversation_id}").get_json()["messages"][1]["feedback"] is None
    # each reply explained against the words it answered
    explained = chatter.get(f"/api/messages/{first['reply']['id']}/explanation").get_json()
    assert [w["text"] for w in explained["explanation"]["words"]["context"]] == "i love cooking pasta".split()
    newer = chatter.get(f"/api/messages/{edited['reply']['id']}/explanation").get_json()
    assert [w["text"] for w in newer["explanation"]["words"]["context"]] == "i love hiking".split()


def test_only_the_last_message_of_the_visitor_can_be_edited(chatter, model_app, visitor_for):
    conversation_id = chatter.new_conversation()
    first = chatter.post(f"/api/conversations/{conversation_id}/messages", {"text": "one"}).get_json()
    chatter.post(f"/api/conversations/{conversation_id}/messages", {"text": "two"})
    earlier = chatter.patch(f"/api/messages/{first['user']['id']}", {"text": "uno"})
    assert earlier.status_code == 422 and "last message" in earlier.get_json()["error"]
    reply = chatter.patch(f"/api/messages/{first['reply']['id']}", {"text": "uno"})
    assert reply.status_code == 422
    stranger = visitor_for(model_app)
    assert stranger.patch(f"/api/messages/{first['user']['id']}", {"text": "x"}).status_code == 404
    empty = chatter.patch(f"/api/messages/{first['user']['id']}", {"text": " "})
    assert empty.status_code == 422
    texts = [m["text"] for m in chatter.get(f"/api/conversations/{conversation_id}").get_json()["messages"]]
    assert texts[0] == "one" and texts[2] == "two"


def test_export_one_conversation_as_json_and_markdown(chatter):
    conversation_id = chatter.new_conversation()
    sent = chatter.post(f"/api/conversations/{conversation_id}/messages",
                        {"text": "# not a heading\nsecond line"}).get_json()
    chatter.new_conversation()  # another conversation stays out of the export
    as_json = chatter.get(f"/api/conversations/{conversation_id}/export")
    assert as_json.status_code == 200
    assert f"lembra-conversation-{conversation_id}.json" in as_json.headers["Content-Disposition"]
    data = as_json.get_json()
    assert [m["id"] for m in data["messages"]] == [sent["user"]["id"], sent["reply"]["id"]]
    as_md = chatter.get(f"/api/conversations/{conversation_id}/export?format=markdown")
    assert as_md.status_code == 200 and as_md.mimetype == "text/markdown"
    assert f"lembra-conversation-{conversation_id}.md" in as_md.headers["Content-Disposition"]
    text = as_md.get_data(as_text=True)
    from chatbot.web.export import escaped

    assert text.startswith("# \\# not a heading second line\n")  # Markdown shows it as typed
    assert "**You**\n\n> \\# not a heading\n> second line\n" in text
    assert f"**Lembra**\n\n> {escaped(sent['reply']['text'])}" in text
    assert chatter.get(f"/api/conversations/{conversation_id}/export?format=pdf").status_code == 422


def test_export_is_the_owners_only(visitor, visitor_for, app):
    conversation_id = visitor.new_conversation()
    stranger = visitor_for(app)
    assert stranger.get(f"/api/conversations/{conversation_id}/export").status_code == 404


def test_parallel_answers_to_one_turn_leave_one_current_reply(model_app, chatter):
    """Eight edits and regenerates of the same turn at once (each request its own client with
    the visitor's cookie, as browser tabs are): the page and the model then see one reply."""
    from concurrent.futures import ThreadPoolExecutor

    conversation_id = chatter.new_conversation()
    first = chatter.post(f"/api/conversations/{conversation_id}/messages",
                         {"text": "hello"}).get_json()
    cookie = chatter.client.get_cookie("lembra_visitor").value

    def answer(i: int) -> int:
        tab = model_app.test_client()
        tab.set_cookie("lembra_visitor", cookie)
        headers = {"X-CSRF-Token": chatter.token}
        if i % 2:
            return tab.patch(f"/api/messages/{first['user']['id']}", json={"text": f"hello {i}"},
                             headers=headers).status_code
        return tab.post(f"/api/conversations/{conversation_id}/reply", json={},
                        headers=headers).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(answer, range(8)))
    assert set(statuses) <= {200, 201}, statuses
    messages = chatter.get(f"/api/conversations/{conversation_id}").get_json()["messages"]
    assert [m["role"] for m in messages] == ["user", "bot"]


def test_a_reply_has_at_most_max_versions(make_app, bot, visitor_for):
    from chatbot.storage.conversations import MAX_VERSIONS

    visitor = visitor_for(make_app(BOT=bot))
    conversation_id = visitor.new_conversation()
    first = visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": "hi"}).get_json()
    for _ in range(MAX_VERSIONS - 1):
        assert visitor.post(f"/api/conversations/{conversation_id}/reply", {}).status_code == 201
    refused = visitor.post(f"/api/conversations/{conversation_id}/reply", {})
    assert refused.status_code == 422 and f"{MAX_VERSIONS} versions" in refused.get_json()["error"]
    edit = visitor.patch(f"/api/messages/{first['user']['id']}", {"text": "hi again"})
    assert edit.status_code == 422
    messages = visitor.get(f"/api/conversations/{conversation_id}").get_json()["messages"]
    assert messages[0]["text"] == "hi"  # a refused edit changes nothing


def test_the_markdown_export_cannot_forge_a_turn_or_carry_html(make_app, visitor_for):
    visitor = visitor_for(make_app())  # no model: the visitor's turns are stored all the same
    conversation_id = visitor.new_conversation()
    hostile = ("hi\r**Lembra**\r\rsure, click [here](http://evil.example)\u2028"
               "<img src=x onerror=alert(1)>\n# Heading\n1. one")
    visitor.post(f"/api/conversations/{conversation_id}/messages", {"text": hostile})
    md = visitor.get(f"/api/conversations/{conversation_id}/export?format=markdown").get_data(
        as_text=True)
    body = md.split("\n", 4)[4]  # past the title and the date
    assert body.count("**") == 2  # one speaker heading: the visitor's
    quoted = [line for line in body.splitlines() if line and not line.startswith("**")]
    assert all(line.startswith(">") for line in quoted), quoted
    import re

    assert "<img" not in md and not re.search(r"(?<!\\)\]\(", md)  # no tag, no link
    assert "\n# " not in md.split("\n", 1)[1]  # one heading: the title
    assert "&lt;img src=x onerror=alert(1)&gt;" in md and "1\\. one" in md
