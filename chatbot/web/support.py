"""What the chat does for a message that needs more than a chat reply (see chatbot.support).

A crisis message gets a fixed reply written by people, in the message's language when it looks
Portuguese, else the page's: the model never answers it. The reply is stored as Lembra's turn with
model version `support`, and "Why this reply?" says why. Sad news keeps the model's reply (never
a cheerful one: chatbot.bot) and the page shows where to find help beside it.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from chatbot.support import CRISIS, classify, looks_portuguese

SUPPORT_VERSION = "support"  # the model_version of a reply written by people


def crisis_reply(message: str) -> str:
    """The fixed, human-written answer to a crisis message."""
    if looks_portuguese(message):
        with force_locale("pt"):
            return _crisis_text()
    return _crisis_text()


def _crisis_text() -> str:
    return _("I'm really sorry you're going through this, and I'm glad you said it. I'm a small "
             "chatbot and can't give you the help you deserve, but people can, right now. If you "
             "are in danger, call your local emergency number. In Brazil, CVV answers for free, "
             "day and night, at 188 or cvv.org.br; elsewhere, findahelpline.com lists free, "
             "confidential lines in your country. You don't have to go through this alone.")


def needs_crisis_reply(message: str) -> bool:
    return classify(message) == CRISIS


def crisis_explanation() -> dict:
    """What "Why this reply?" shows for a crisis reply: no attention, no gates, the reason."""
    return {"support": CRISIS, "summary": _(
        "Lembra did not write this reply. Your message sounded like you might be in danger or "
        "thinking of hurting yourself, and a chatbot should not improvise then: this is a fixed "
        "message written by people, with where to find help.")}
