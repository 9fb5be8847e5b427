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
    assert body["user"] == {**first["user"], "text": "hello there"}
    assert body["replaced"] == first["reply"]["id"]
    conversation = chatter.get(f"/api/conversations/{conversation_id}").get_json()
    assert [m["text"] for m in conversation["messages"]] == ["hello there", body["reply"]["text"]]
    assert conversation["title"] == "hello there"  # the title came from the edited message


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
    assert text.startswith("# # not a heading second line\n")
    assert "**You**\n\n> # not a heading\n> second line\n" in text
    assert f"**Lembra**\n\n> {sent['reply']['text']}" in text
    assert chatter.get(f"/api/conversations/{conversation_id}/export?format=pdf").status_code == 422


def test_export_is_the_owners_only(visitor, visitor_for, app):
    conversation_id = visitor.new_conversation()
    stranger = visitor_for(app)
    assert stranger.get(f"/api/conversations/{conversation_id}/export").status_code == 404
