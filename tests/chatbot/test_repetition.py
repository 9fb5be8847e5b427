"""chatbot.repetition: content words said twice within four words."""

import pytest

from chatbot.repetition import repeats_a_word


@pytest.mark.parametrize("text", ["i like to cook and cook", "summer summer winter",
                                  "a movie movie", "Pizza, pizza!"])
def test_stutters(text):
    assert repeats_a_word(text)


@pytest.mark.parametrize("text", ["i love pizza and i love pasta", "that is so so cool",
                                  "i do not know what you do", "i like cooking, my mom cooks"])
def test_fluent_repeats(text):
    assert not repeats_a_word(text)
