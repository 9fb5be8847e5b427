"""A visitor's conversations: ownership, the model's history, the turn limit, replies that
replace replies, and search."""

from __future__ import annotations

import pytest

from chatbot.storage import conversations
from chatbot.storage.conversations import MAX_ID, Refused, history_turns


def test_history_alternates_and_ends_with_the_user():
    turns = [("user", "hi"), ("bot", "hello"), ("user", "how are you?")]
    assert history_turns(turns) == ["hi", "hello", "how are you?"]


def test_unanswered_user_messages_are_joined():
    turns = [("user", "hi"), ("user", "anyone there?"), ("bot", "yes"), ("user", "good")]
    assert history_turns(turns) == ["hi\nanyone there?", "yes", "good"]


def test_empty_history():
    assert history_turns([]) == []


def reply(session, conversation, text, replaces=None):
    return conversations.add_reply(session, conversation, text, model_version="m-1",
                                   options={"mode": "greedy"}, latency_ms=12.34, explanation=None,
                                   replaces=replaces)


def test_lookups_are_scoped_to_the_visitor(session):
    mine = conversations.create(session, "me", "")
    message, _ = conversations.add_message(session, mine, "hello", max_turns=10)
    assert conversations.owned_conversation(session, "me", mine.id).id == mine.id
    assert conversations.owned_conversation(session, "someone else", mine.id) is None
    assert conversations.owned_message(session, "someone else", message.id) is None
    assert conversations.owned_conversation(session, "me", MAX_ID + 1) is None


def test_messages_build_the_history_and_the_title(session):
    conversation = conversations.create(session, "me", "")
    user, history = conversations.add_message(session, conversation, "hi  there\nfriend", 10)
    assert history == ["hi  there\nfriend"] and conversation.title == "hi there friend"
    bot = reply(session, conversation, "hello")
    assert bot.latency_ms == 12.3 and bot.model_version == "m-1"
    _, history = conversations.add_message(session, conversation, "how are you?", 10)
    assert history == ["hi  there\nfriend", "hello", "how are you?"]
    assert [m.id for m in conversations.messages(session, conversation)][:2] == [user.id, bot.id]


def test_a_full_conversation_refuses_more(session):
    conversation = conversations.create(session, "me", "")
    conversations.add_message(session, conversation, "one", max_turns=2)
    reply(session, conversation, "two")
    with pytest.raises(Refused, match="full"):
        conversations.add_message(session, conversation, "three", max_turns=2)


def test_answering_again_replaces_the_last_reply(session):
    conversation = conversations.create(session, "me", "")
    with pytest.raises(Refused, match="no message"):
        conversations.history_to_answer_again(session, conversation)
    conversations.add_message(session, conversation, "hi", 10)
    history, replaced = conversations.history_to_answer_again(session, conversation)
    assert history == ["hi"] and replaced is None  # the first reply failed
    first = reply(session, conversation, "hello")
    history, replaced = conversations.history_to_answer_again(session, conversation)
    assert history == ["hi"] and replaced.id == first.id
    reply(session, conversation, "hey", replaces=replaced)
    assert [m.text for m in conversations.messages(session, conversation)] == ["hi", "hey"]


def test_a_regenerated_reply_is_kept_but_no_visitor_query_sees_it(session):
    conversation = conversations.create(session, "me", "")
    conversations.add_message(session, conversation, "hi", 10)
    first = reply(session, conversation, "zebra stripes")
    conversations.rate(session, first, -1, "odd")
    conversations.correct(session, first, "hello!")
    second = reply(session, conversation, "hello", replaces=first)
    third = reply(session, conversation, "hey there", replaces=second)
    assert (first.superseded_by_id, second.superseded_by_id) == (second.id, third.id)
    chains = conversations.versions(session, conversation.id)
    assert [m.text for m in chains[third.id]] == ["zebra stripes", "hello", "hey there"]
    # the old row keeps what the visitor gave it
    session.expire_all()
    assert first.feedback.rating == -1 and [c.text for c in first.corrections] == ["hello!"]
    # what the visitor and the model see: current messages only
    assert [m.text for m in conversations.messages(session, conversation)] == ["hi", "hey there"]
    assert conversations.search(session, "me", "zebra", 10) == []
    assert conversations.history_to_answer_again(session, conversation)[1].id == third.id
    _, history = conversations.add_message(session, conversation, "and?", 10)
    assert history == ["hi", "hey there", "and?"]
    exported = conversations.export(session, "me")[0]
    assert [m.text for m in conversations.current(exported.messages)] == ["hi", "hey there", "and?"]
    with pytest.raises(Refused, match="full"):  # superseded rows do not count towards the limit
        conversations.add_message(session, conversation, "more", 3)
    conversations.add_message(session, conversation, "more", 4)


def test_confidence_is_stored_rounded(session):
    conversation = conversations.create(session, "me", "")
    conversations.add_message(session, conversation, "hi", 10)
    stored = conversations.add_reply(session, conversation, "hello", model_version="m",
                                     options={}, latency_ms=1.0, explanation=None,
                                     confidence=-1.234567)
    assert stored.confidence == -1.2346


def test_search_matches_titles_and_text_of_the_visitors_own(session):
    for visitor, text in (("me", "pizza tonight"), ("me", "hello"), ("you", "pizza too")):
        conversations.add_message(session, conversations.create(session, visitor, ""), text, 10)
    assert [c.title for c in conversations.search(session, "me", "PIZZA", 10)] == ["pizza tonight"]
    assert len(conversations.search(session, "me", "", 10)) == 2
    assert conversations.search(session, "me", "100%", 10) == []


def test_a_second_answer_to_one_turn_supersedes_the_first(session):
    """Two answers stored for the same user message (a race of two regenerates, each
    replacing the same old reply, or none): only the last one stays current."""
    conversation = conversations.create(session, "me", "")
    conversations.add_message(session, conversation, "hello", max_turns=10)
    old = reply(session, conversation, "hi!")
    a = reply(session, conversation, "hey", replaces=old)
    b = reply(session, conversation, "hello there", replaces=old)
    shown = conversations.current(conversations.messages(session, conversation))
    assert [m.text for m in shown] == ["hello", "hello there"]
    assert {old.superseded_by_id, a.superseded_by_id} <= {a.id, b.id} and b.superseded_by_id is None
    conversations.add_message(session, conversation, "how are you?", max_turns=10)
    later = reply(session, conversation, "good")
    assert later.superseded_by_id is None and b.superseded_by_id is None  # earlier turns untouched


def test_an_edit_starts_a_branch_and_keeps_the_old_wording_with_its_replies(session):
    conversation = conversations.create(session, "me", "")
    asked, _ = conversations.add_message(session, conversation, "hi", max_turns=10)
    reply(session, conversation, "hello")
    first = conversations.add_message(session, conversation, "helo there", max_turns=10)[0]
    old = reply(session, conversation, "what?")
    again = reply(session, conversation, "sorry?", replaces=old)  # a regenerate of the old wording
    edited, hidden = conversations.edit_last_message(session, first, "hello there", "ordinary")
    assert edited.id != first.id and hidden.id == again.id
    assert conversations.turns(session, conversation.id) == [("user", "hi"), ("bot", "hello"),
                                                             ("user", "hello there")]
    new = reply(session, conversation, "hi! how are you?")
    rows = conversations.all_messages(session, conversation.id)
    chains = conversations.version_chains(rows)
    assert [m.text for m in chains[edited.id]] == ["helo there", "hello there"]
    assert [m.text for m in chains[new.id]] == ["hi! how are you?"]  # not a version of "sorry?"
    assert [m.text for m in conversations.branches(rows)[first.id]] == ["what?", "sorry?"]
    # each reply is explained against the words it answered
    assert conversations.history_before(session, again) == ["hi", "hello", "helo there"]
    assert conversations.history_before(session, new) == ["hi", "hello", "hello there"]
    assert [m.text for m in conversations.messages(session, conversation)] == [
        "hi", "hello", "hello there", "hi! how are you?"]


def test_an_edit_of_a_stale_wording_edits_the_newest_and_others_are_refused(session):
    conversation = conversations.create(session, "me", "")
    first = conversations.add_message(session, conversation, "one", max_turns=10)[0]
    reply(session, conversation, "1")
    second, _ = conversations.edit_last_message(session, first, "uno")
    third, _ = conversations.edit_last_message(session, first, "eins")  # a tab that saw "one"
    rows = conversations.all_messages(session, conversation.id)
    assert [m.text for m in conversations.version_chains(rows)[third.id]] == ["one", "uno", "eins"]
    later = conversations.add_message(session, conversation, "two", max_turns=10)[0]
    with pytest.raises(Refused, match="last message"):
        conversations.edit_last_message(session, third, "drei")
    assert [m.text for m in conversations.messages(session, conversation)] == ["eins", "two"]
    assert later.superseded_by_id is None


def test_edits_and_regenerates_of_one_turn_count_together(session):
    conversation = conversations.create(session, "me", "")
    asked = conversations.add_message(session, conversation, "hi", max_turns=10)[0]
    last = reply(session, conversation, "0")
    for i in range(conversations.MAX_VERSIONS - 1):
        if i % 2:
            asked, _ = conversations.edit_last_message(session, asked, f"hi {i}")
            last = reply(session, conversation, str(i))
        else:
            last = reply(session, conversation, str(i), replaces=last)
    with pytest.raises(Refused, match="versions"):
        conversations.refuse_another_version(session, conversation)


def test_a_snippet_shows_the_words_around_the_match_cut_at_words():
    text = "we went hiking in the alps last summer and it was the best trip of my whole life honestly"
    assert conversations.snippet(text, "TRIP") == "…summer and it was the best trip of my whole life honestly"
    assert conversations.snippet("short one with trip", "trip") == "short one with trip"
    cut = conversations.snippet("i love my cat so much, " + "she sleeps all day " * 5, "cat")
    assert cut.startswith("i love my cat") and cut.endswith("…") and len(cut) <= 61


def test_search_results_carry_the_first_matching_message(session):
    found = conversations.create(session, "me", "")
    conversations.add_message(session, found, "hello", max_turns=10)
    conversations.add_message(session, found, "my cat Mochi sleeps all day", max_turns=10)
    titled = conversations.create(session, "me", "cat pictures")
    hits = conversations.search(session, "me", "mochi", 10)
    assert [c.id for c in hits] == [found.id]
    assert conversations.snippets(session, [found.id, titled.id], "cat") == {
        found.id: "my cat Mochi sleeps all day"}  # a title-only match has none


def test_edits_that_get_no_answer_are_bounded_too(session):
    conversation = conversations.create(session, "me", "")
    asked = conversations.add_message(session, conversation, "hi", max_turns=10)[0]
    for i in range(conversations.MAX_VERSIONS):  # the model is down: no reply is stored
        asked, _ = conversations.edit_last_message(session, asked, f"hi {i}")
    with pytest.raises(Refused, match="versions"):
        conversations.refuse_another_version(session, conversation)
