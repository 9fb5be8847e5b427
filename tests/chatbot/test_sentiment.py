"""Bad news and cheerful replies, so that sad news never gets "that's awesome!"."""

from pathlib import Path

import pytest

from chatbot.sentiment import is_bad_news, is_cheerful, is_condolence

SAD = Path(__file__).resolve().parents[1] / "data" / "judging" / "sad_messages.txt"


def test_the_sad_messages_of_the_judging_set_are_bad_news():
    messages = [m for m in SAD.read_text().splitlines() if m.strip()]
    assert len(messages) >= 40
    missed = [m for m in messages if not is_bad_news(m)]
    assert len(missed) <= len(messages) * 0.05, missed


@pytest.mark.parametrize("text", ["hey there, how's it going?", "i just made pancakes",
                                  "what music do you like?", "i got engaged last night!",
                                  "do you have any pets?", "i love road trips"])
def test_ordinary_and_happy_messages_are_not_bad_news(text):
    assert not is_bad_news(text)


@pytest.mark.parametrize("text, cheerful", [("that's awesome!", True), ("haha that's great", True),
                                            ("congrats, that's amazing", True),
                                            ("that's good.", True), ("lol ok then", True),
                                            ("i'm so sorry to hear that", False),
                                            ("oh no, is she okay?", False), ("i see", False),
                                            ("i hope she gets better soon", False),
                                            ("hang in there, it will get better", False)])
def test_cheerful_replies(text, cheerful):
    assert is_cheerful(text) is cheerful


@pytest.mark.parametrize("text, kind", [
    ("i'm so sorry to hear that", True), ("oh no, that must be really hard", True),
    ("that sucks. i hope you feel better soon", True),
    ("haha oh no", False), ("sorry about that, i was on the phone", False),
    ("oh no way! that's so cool", False), ("no worries at all", False),
    ("oh no! i was at a track meet all day and it was so hot and then we went out for pizza "
     "and ice cream after", False)])
def test_a_condolence_is_short_kind_and_nothing_else(text, kind):
    assert is_condolence(text) is kind
