"""chatbot.support: ordinary, sad or crisis, measured on messages it was never fitted to."""

import pytest

from bench.support import (
    HELD_OUT,
    HELD_OUT_3,
    HELD_OUT_4,
    HELD_OUT_5,
    HELD_OUT_6,
    HELD_OUT_7,
    SAD_SETS,
    scores,
)
from chatbot.sentiment import is_bad_news
from chatbot.support import (
    CRISIS,
    ORDINARY,
    SAD,
    SAD_AT,
    SAD_PATTERNS,
    classify,
    examples,
    fold,
    looks_portuguese,
    probabilities,
)


@pytest.mark.parametrize(("text", "label"), [
    ("i want to kill myself", CRISIS), ("Não aguento mais viver", CRISIS),
    ("he hits me when he drinks", CRISIS), ("my dog died yesterday", SAD),
    ("reprovei na prova de novo", SAD), ("what are you up to?", ORDINARY),
    ("this traffic is killing me", ORDINARY), ("i died laughing at that video", ORDINARY),
    ("tô morrendo de rir", ORDINARY), ("my phone battery just died", ORDINARY),
    ("i lost my save file lol", ORDINARY),
])
def test_classify(text, label):
    assert classify(text) == label


def test_held_out_messages_crisis_is_found_and_rarely_imagined():
    result = scores(examples(HELD_OUT))
    crisis = result["classes"][CRISIS]
    assert result["n"] == 90 and crisis["n"] == 30
    assert crisis["recall"] >= 0.9 and crisis["precision"] >= 0.9


@pytest.mark.parametrize(("path", "recall"), [(HELD_OUT_3, 0.95), (HELD_OUT_4, 0.95), (HELD_OUT_5, 0.95),
                                              (HELD_OUT_6, 0.95), (HELD_OUT_7, 0.9)])
def test_the_newer_held_out_sets_find_most_warning_signs(path, recall):
    """Written apart from the classifier and measured before being read: heldout3 0.46 at the
    start of 2026-12-03, 0.86 when first measured; heldout4 0.52, then 0.82; heldout5 0.68 and
    heldout6 0.74 at the start of 2026-12-04, heldout6 0.82 with 441 more training messages
    before its misses were read; heldout7, written after all of that, 0.90 and not read since
    (bench.support)."""
    result = scores(examples(path))
    crisis = result["classes"][CRISIS]
    assert result["n"] == 150 and crisis["n"] == 50
    assert crisis["recall"] >= recall and crisis["precision"] >= 0.9


@pytest.mark.parametrize(("text", "label"), [
    ("my husband said he'll kill me if i ever try to leave", CRISIS),
    ("my mom will kill me if i forget her birthday", ORDINARY),
    ("i've been planning how to end it", CRISIS),
    ("i cut myself a big slice of cake", ORDINARY),
    ("i'm writing a letter to my pen pal", ORDINARY),
    ("vou me matar de estudar pra prova", ORDINARY),
    ("part of me wants to die", CRISIS), ("essa prova vai me matar", ORDINARY),
    ("o show foi de matar", ORDINARY),
    ("everyone would be better off without me", CRISIS),
    ("planning to overdose on netflix this weekend", ORDINARY),
    ("my cat loves to jump off the couch", ORDINARY),
    ("saying goodbye to everyone at the farewell lunch today", ORDINARY),
    ("escrevi uma carta de despedida pra minha professora que vai se aposentar", ORDINARY),
    ("honestly kms. not as a joke", CRISIS), ("i ran 5 kms this morning", ORDINARY),
    ("if nothing changes by friday i'm done", CRISIS),
    ("se nada mudar até o fim do mês eu paro por aqui", CRISIS),
    ("i've been saving up my pills for weeks", CRISIS),
])
def test_threats_plans_and_their_idioms(text, label):
    assert classify(text) == label


def test_sad_news_gets_the_note_and_seldom_the_crisis_reply():
    messages = [m for path in SAD_SETS for m in path.read_text().splitlines() if m.strip()]
    classes = [classify(m) for m in messages]
    assert len(messages) == 90
    assert sum(c != ORDINARY for c in classes) / len(messages) >= 0.95
    assert sum(c == CRISIS for c in classes) / len(messages) <= 0.1


def test_fold_and_language():
    assert fold("  Não   AGUENTO ") == "nao aguento"
    assert looks_portuguese("não sei mais o que fazer, estou muito mal")
    assert not looks_portuguese("i don't know what to do anymore")


@pytest.mark.parametrize("message", [
    "hello there", "i want to learn to bake bread", "i'm going to repaint the kitchen on saturday",
    "i've always wanted a pet lizard", "i've been reading a lot of poetry lately"])
def test_everyday_plans_are_never_a_crisis(message):
    # The classifier alone once called three of these a crisis (probabilities 0.5-0.6).
    assert classify(message) == ORDINARY


@pytest.mark.parametrize("message", [
    "feeling kind of down today", "we had to put our cat to sleep", "my nan doesn't recognise me",
    "they're making cuts at work and i might lose my job", "i moved here and have no friends",
    "our dog ran away last night"])
def test_quieter_bad_news_is_sad(message):
    assert classify(message) == SAD


@pytest.mark.parametrize("message", [
    "my best friend just stopped replying to me and i don't know why",
    "meus amigos fizeram um churrasco e ninguém me chamou",
    "the credit card debt keeps growing and I can't see a way to pay it down soon"])
def test_sad_news_no_pattern_finds_is_found_by_the_classifier(message):
    # Neither SAD_PATTERNS nor VADER calls these bad news; the classifier's sad probability does.
    assert not SAD_PATTERNS.search(fold(message)) and not is_bad_news(fold(message))
    odds = probabilities(message)
    assert abs(sum(odds.values()) - 1.0) < 1e-6 and odds[SAD] >= SAD_AT
    assert classify(message) == SAD
