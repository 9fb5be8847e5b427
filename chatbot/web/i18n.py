"""English and Portuguese (Flask-Babel catalogs in chatbot/translations).

The language is the `lembra_lang` cookie set by the settings switch, else the browser's
Accept-Language. Strings the scripts show are translated here and handed to the page as JSON.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _

from chatbot.options import MODE_TABLE
from chatbot.web.explaining import panel_strings

LANGUAGES = {"en": "English", "pt": "Português"}
COOKIE = "lembra_lang"


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def current_language() -> str:
    return str(get_locale() or "en")


def script_strings() -> dict[str, str]:
    """Every sentence static/js shows, in the visitor's language."""
    return {
        "untitled": _("New conversation"),
        "typing": _("Lembra is typing…"),
        "you": _("You"),
        "bot": _("Lembra"),
        "retry": _("Retry"),
        "copy": _("Copy reply"),
        "copied": _("Copied"),
        "regenerate": _("Regenerate reply"),
        "thumbsUp": _("Good reply"),
        "thumbsDown": _("Bad reply"),
        "feedbackSaved": _("Thanks for the feedback"),
        "why": _("Why this reply?"),
        "whyShort": _("Why?"),
        "renameBlank": _("Give the conversation a name, or cancel."),
        "delete": _("Delete conversation"),
        "confirmDelete": _("Delete this conversation? This cannot be undone."),
        "noConversations": _("No conversations yet"),
        "noMatches": _("No conversations match"),
        "sendFailed": _("The message could not be sent."),
        "replyFailed": _("Your message is saved, but no reply came back."),
        "loadFailed": _("Could not load the conversation."),
        "networkError": _("Lembra can't be reached. Check your connection, then try again."),
        "serverDown": _("Lembra can't answer right now. Please try again in a moment."),
        "rateLimited": _("That was a lot of messages at once. Wait a moment, then try again."),
        "charsLeft": _("%(n)s characters left"),
        "tooLong": _("%(n)s characters over the limit"),
        "loading": _("Loading…"),
        "explainFailed": _("Could not compute the explanation."),
        "inexact": _("The model no longer gives this exact reply; this explains the reply it "
                     "gives now."),
        "modelInfo": _("Model %(version)s · %(mode)s · %(ms)s ms"),
        "supportReply": _("Written by people, not by the model"),
        "suggest": _("Suggest a better answer"),
        "suggestLabel": _("A better answer to your message"),
        "suggestSend": _("Send suggestion"),
        "suggestEmpty": _("Write the better answer first."),
        "yourSuggestion": _("Thanks! Your suggestion, for review:"),
        "cancel": _("Cancel"),
        "moreActions": _("More actions"),
        "replyActions": _("Actions for the reply “%(text)s”"),
        "previousVersion": _("Previous version"),
        "nextVersion": _("Next version"),
        "versionOf": _("Version %(n)s of %(total)s"),
        "previousWording": _("Previous wording"),
        "nextWording": _("Next wording"),
        "wordingOf": _("Wording %(n)s of %(total)s"),
        "wordings": _("Your earlier wordings of this message"),
        "reasonLabel": _("What was wrong with it? (optional)"),
        "reasonSend": _("Send"),
        "reasonSkip": _("Skip"),
        "editMessage": _("Edit message"),
        "editSend": _("Save and send"),
        "languageNote": _("Lembra only understands English, so this reply may not make sense. "
                          "Try writing in English."),
        "supportNote": _("If you are going through something hard, you don't have to face it "
                         "alone. Talk to someone you trust, or find a free, confidential "
                         "helpline near you:"),
        **panel_strings(),
    }


def page_modes() -> list[dict]:
    """The decoding modes as the settings page lists them (chatbot.options.MODE_TABLE), with
    their words in the visitor's language and the page's controls that apply to each."""
    return [{"name": mode.name, "label": _(mode.label), "hint": _(mode.hint),
             "controls": mode.page_controls(), "stochastic": mode.stochastic}
            for mode in MODE_TABLE]


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(current_language=current_language, LANGUAGES=LANGUAGES)
