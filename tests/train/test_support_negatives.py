"""train.support_negatives: which corpus turns count as everyday chat for the support classifier."""

from chatbot.support import NEGATIVES
from train.support_negatives import everyday

TURNS = ["what do you like to do on weekends?", "my dog died yesterday and i miss him",
         "i want to kill myself", "ok", "i love hiking in the mountains with my sister",
         "How Are You Doing Today?"]


def test_only_ordinary_turns_of_three_to_25_words_lower_cased():
    kept = everyday(TURNS, 10)
    assert sorted(kept) == ["how are you doing today?", "i love hiking in the mountains with my sister",
                            "what do you like to do on weekends?"]


def test_the_sample_is_seeded_and_capped():
    assert everyday(TURNS, 2) == everyday(TURNS, 2) and len(everyday(TURNS, 2)) == 2


def test_the_shipped_file_is_everyday_chat():
    lines = NEGATIVES.read_text("utf-8").splitlines()
    assert len(lines) == 3000 and all(lines)
    assert sorted(everyday(lines[:200], 200)) == sorted(lines[:200])  # each line still passes
