""""Why this reply?" for the web: the stored explanation or a fresh one, and its one-sentence
summary in the request's language (the model layer, `chatbot.explanation`, gives only the data).

Used by the visitor's API and by the admin transcript, so both panels show the same thing.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from chatbot.storage import conversations
from chatbot.storage.db import Message
from chatbot.web.serving import BOT, explain_reply

KEPT = ("candidates",)  # what only the search knew, kept from the explanation stored with a reply


def explanation_for(session: Session, message: Message) -> tuple[dict, bool]:
    """The full explanation of a bot reply and whether it is exact (the serving model wrote it).

    A reply stored with only the search's record (attention, gate means, rerank candidates) is
    stepped through once by teacher forcing, and the result stored when the same model version is
    serving. Raises `ModelUnavailable`.
    """
    stored = message.explanation or {}
    if "words" in stored:
        return with_summary(stored), True
    history = conversations.history_before(session, message)
    explanation, version = explain_reply(history, message.text)
    explanation.update({key: stored[key] for key in KEPT if key in stored})
    exact = version == message.model_version
    if exact:
        conversations.store_explanation(session, message, explanation)
    return with_summary(explanation), exact


def model_pieces() -> int | None:
    """How many pieces of the conversation the serving model reads (None without a model): the
    composer warns before a message is cut."""
    bot = current_app.extensions.get(BOT)
    return None if bot is None else bot.config.max_src_len


def with_summary(explanation: dict) -> dict:
    """A copy with `summary`, the sentence, in the request's language."""
    return {**explanation, "summary": summary_sentence(explanation.get("summary_data") or {})}


def summary_sentence(data: dict) -> str:
    """"Lembra wrote “pasta” mostly from “cooking” (41%); it barely used “sundays” (1%).\""""
    answered = data.get("answered") or []
    if answered:
        first = answered[0]
        text = _("Lembra wrote “%(reply)s” mostly from “%(word)s” (%(share)s%%)",
                 reply=first["reply"], word=first["context"], share=_percent(first["share"]))
        for more in answered[1:]:
            text += _(", and “%(reply)s” from “%(word)s” (%(share)s%%)",
                      reply=more["reply"], word=more["context"], share=_percent(more["share"]))
    else:
        text = _("Lembra's reply did not lean on any one word")
    barely = data.get("barely")
    if barely:
        text += _("; it barely used “%(word)s” (%(share)s%%).", word=barely["context"],
                  share=_percent(barely["share"]))
    else:
        text += "."
    unseen = int(data.get("unseen_words") or 0)
    if unseen:
        text += " " + ngettext("It could not see %(num)s word at the start of the conversation.",
                               "It could not see %(num)s words at the start of the conversation.",
                               unseen)
    return text


def _percent(share: float) -> str:
    return str(round(float(share) * 100))


def panel_strings() -> dict[str, str]:
    """Every sentence static/js/explain.js shows, in the visitor's language."""
    return {
        "exYou": _("You"),
        "exLembra": _("Lembra"),
        "exWordsTitle": _("What the reply came from"),
        "exWordsHint": _("Choose a word of the reply to see which of the conversation's words "
                         "it used; the bar under each word shows how much."),
        "exUnknown": _("not understood: %(chars)s"),
        "exUnseen": _("Greyed words were outside what the model reads (its last %(n)s pieces), "
                      "so it never saw them."),
        "exAltTitle": _("What else it could have written"),
        "exAfter": _("after “%(word)s” it almost wrote “%(alt)s” (%(p)s%%)"),
        "exAtStart": _("at the start it almost wrote “%(alt)s” (%(p)s%%)"),
        "exEnd": _("(end the reply)"),
        "exWrote": _("wrote “%(word)s” (%(p)s%%)"),
        "exConfidence": _("Confidence: %(p)s%% (how sure the model was of each piece, on "
                          "average)"),
        "exCandidatesTitle": _("Other replies it considered"),
        "exCandidatesHint": _("Best fit wrote several replies and kept the one with the highest "
                              "score (higher is better). How well each fits the conversation is "
                              "judged by a second network, trained to tell the reply that really "
                              "came next from others."),
        "exFitWell": _("fits well"),
        "exFitSomewhat": _("fits somewhat"),
        "exFitPoorly": _("fits poorly"),
        "exFit": _("fit (cosine, -1 to 1):"),
        "exCheerful": _("passed over: too cheerful for sad news"),
        "exChosen": _("shown"),
        "exUnfinished": _("cut off"),
        "exScore": _("score"),
        "exShowHeatmap": _("Show the heatmap"),
        "exHeatmapLabel": _("Attention: how much each reply word (rows) used each word of the "
                            "conversation (columns)."),
        "exLegendLow": _("little"),
        "exLegendHigh": _("much"),
        "exTable": _("Show the numbers as a table"),
        "exReplyWord": _("Reply word"),
        "exLstmTitle": _("Inside the LSTM"),
        "exLstmIntro": _("The decoder is an LSTM: a memory cell with three gates. At each word "
                         "it decides what to forget, what to write and what to show."),
        "exStep": _("Step %(n)s of %(total)s: “%(word)s”"),
        "exPrev": _("Previous word"),
        "exNext": _("Next word"),
        "exUnit": _("unit"),
        "exForget": _("forget gate"),
        "exInput": _("input gate"),
        "exCandidate": _("candidate"),
        "exOutput": _("output gate"),
        "exCell": _("cell state"),
        "exHidden": _("hidden state"),
        "exForgetDrop": _("Unit %(unit)s: the forget gate fell to %(f)s, so the cell let go of "
                          "what it held (%(before)s → %(after)s)."),
        "exWrite": _("Unit %(unit)s: the input gate opened to %(i)s and wrote %(g)s into the "
                     "cell (%(before)s → %(after)s)."),
        "exGateMapLabel": _("%(gate)s of the %(n)s units that changed most (rows), at each reply "
                            "word (columns), from 0 to 1 on the scale above."),
        "exWroteP": _("Probability"),
        "exTooLongForModel": _("This message is longer than Lembra reads: it will only see about "
                               "the last %(n)s words."),
    }
