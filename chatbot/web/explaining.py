""""Why this reply?" for the web: the stored explanation or a fresh one, and its one-sentence
summary in the request's language (the model layer, `chatbot.explanation`, gives only the data).

Used by the visitor's API and by the admin transcript, so both panels show the same thing.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from chatbot import confidence
from chatbot.options import find_mode
from chatbot.storage import conversations
from chatbot.storage.db import Message
from chatbot.support import CRISIS
from chatbot.web.serving import BOT, explain_reply
from chatbot.web.support import crisis_explanation

# What only the search knew, kept from the explanation stored with a reply: the drafts, the
# example the reply was written from, and whether it was shown as retrieved.
KEPT = ("candidates", "written_from", "borrowed")


def explanation_for(session: Session, message: Message) -> tuple[dict, bool]:
    """The full explanation of a bot reply and whether it is exact (the serving model wrote it).

    A reply stored with only the search's record (attention, gate means, rerank candidates) is
    stepped through once by teacher forcing, and the result stored when the same model version is
    serving. Raises `ModelUnavailable`.
    """
    stored = message.explanation or {}
    if stored.get("support") == CRISIS:
        return crisis_explanation(), True
    if "words" in stored:
        return with_confidence(with_summary(stored), message), True
    history = conversations.history_before(session, message)
    explanation, version = explain_reply(history, message.text, stored.get("written_from"))
    explanation.update({key: stored[key] for key in KEPT if key in stored})
    exact = version == message.model_version
    if exact:
        conversations.store_explanation(session, message, explanation)
    return with_confidence(with_summary(explanation), message), exact


def confidence_word(level: str) -> str:
    """A `chatbot.confidence` level in the reader's language."""
    return {"sure": _("sure"), "fairly_sure": _("fairly sure"), "unsure": _("unsure")}[level]


def with_confidence(explanation: dict, message: Message) -> dict:
    """The reply's confidence as the admin sees it (what the search recorded, else the forced
    pass's), with its level: one scale for both readers; and whether its words were drawn at
    random (`sampled`), so an unlikely word can be said to be picked by chance."""
    mode = find_mode((message.options or {}).get("mode"))
    explanation = {**explanation, "sampled": bool(mode and mode.stochastic)}
    share = (confidence.share(message.confidence) if message.confidence is not None
             else explanation.get("confidence"))
    if share is None:
        return explanation
    share = round(share, 3)
    return {**explanation, "confidence": share, "confidence_level": confidence.level(share)}


def model_pieces() -> int | None:
    """How many pieces of the conversation the serving model reads (None without a model): the
    composer warns before a message is cut."""
    bot = current_app.extensions.get(BOT)
    return None if bot is None else bot.config.max_src_len


def with_summary(explanation: dict) -> dict:
    """A copy with `summary`, the sentence, in the request's language."""
    text = summary_sentence(explanation.get("summary_data") or {})
    if explanation.get("borrowed"):
        text = _("Lembra did not write this reply: a person wrote it in a similar training "
                 "conversation, and it is shown as it is because “Allow replies taken from the "
                 "training conversations” is on.") + " " + text
    return {**explanation, "summary": text}


def summary_sentence(data: dict) -> str:
    """"While writing “pasta”, Lembra looked most at “cooking” (41% of its attention); of your
    last message it looked least at “sundays” (1%).": attention is where the decoder looked,
    and the sentence claims no more than that (see `chatbot.explanation.summary_data`)."""
    answered = data.get("answered") or []
    if answered:
        first = answered[0]
        text = _("While writing “%(reply)s”, Lembra looked most at “%(word)s” (%(share)s%% of "
                 "its attention)", reply=_short(first["reply"]), word=_short(first["context"]),
                 share=_percent(first["share"]))
        for more in answered[1:]:
            text += _(", and while writing “%(reply)s”, at “%(word)s” (%(share)s%%)",
                      reply=_short(more["reply"]), word=_short(more["context"]), share=_percent(more["share"]))
    else:
        text = _("Lembra's attention did not settle on any one word of yours")
    barely = data.get("barely")
    if barely:
        text += _("; of your last message it looked least at “%(word)s” (%(share)s%% of its "
                  "attention, on average).", word=_short(barely["context"]),
                  share=_percent(barely["share"]))
    else:
        text += "."
    copied = data.get("copied") or []
    if copied:
        text += " " + _copied_sentence(copied)
    elif data.get("example"):
        text += " " + _("It wrote every word itself, with a reply from a similar conversation "
                        "in view.")
    unseen = int(data.get("unseen_words") or 0)
    if unseen:
        text += " " + ngettext("It could not see %(num)s word at the start of the conversation.",
                               "It could not see %(num)s words at the start of the conversation.",
                               unseen)
    return text


def _copied_sentence(copied: list[dict]) -> str:
    """"It took “hiking” from a reply in a similar conversation and “sister” from your message.\""""
    where = {"example": _("from a reply in a similar conversation"),
             "you": _("from your message"), "lembra": _("from its own earlier reply")}
    parts = [_("“%(word)s” %(source)s", word=_short(c["reply"]), source=where.get(c["from"], ""))
             for c in copied]
    if len(parts) == 1:
        return _("It took %(first)s.", first=parts[0])
    return _("It took %(first)s and %(second)s.", first=parts[0], second=parts[1])


SHORT_CHARS = 24  # a word or URL longer than this is cut in the sentence (the tables show it whole)


def _short(word: str) -> str:
    return word if len(word) <= SHORT_CHARS else word[: SHORT_CHARS - 1] + "…"


def _percent(share: float) -> str:
    return str(round(float(share) * 100))


def panel_strings() -> dict[str, str]:
    """Every sentence static/js/explain.js shows, in the visitor's language."""
    return {
        "exYou": _("You"),
        "exLembra": _("Lembra"),
        "exWordsTitle": _("Where the reply looked"),
        "exWordsHint": _("Choose a word of the reply to see where its attention went while it "
                         "was written: the bar under each word of the conversation shows its "
                         "share of that word's attention (the shares add up to 100%)."),
        "exUnknown": _("not understood: %(chars)s"),
        "exUnseen": _("Greyed words were outside what the model reads (its last %(n)s pieces), "
                      "so it never saw them."),
        "exAltTitle": _("What else it could have written"),
        "exAfter": _("after “%(word)s” it almost wrote “%(alt)s” (%(p)s%%)"),
        "exAtStart": _("at the start it almost wrote “%(alt)s” (%(p)s%%)"),
        "exEnd": _("(end the reply)"),
        "exWrote": _("wrote “%(word)s” (%(p)s%%)"),
        "exByChance": _("picked by chance: the model gave “%(word)s” only %(p)s%%"),
        "exConfidence": _("Confidence: %(level)s"),
        "exConfidenceHint": _("%(p)s%% (how sure the model was of each piece, on average)"),
        **{f"exLevel_{level}": confidence_word(level) for level, _lowest in confidence.LEVELS},
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
        "exRepeats": _("passed over: says a word twice"),
        "exDraftFrom": _("written from: “%(text)s”"),
        "exExample": _("Example"),
        "exExampleHint": _("Lembra wrote this reply with a reply from a similar training "
                           "conversation in view (the example); a reply word also shows how "
                           "much it looked at each of the example's words."),
        "exCopied_example": _("copied from the example: %(words)s"),
        "exCopied_you": _("copied from your message: %(words)s"),
        "exCopied_lembra": _("copied from Lembra's earlier reply: %(words)s"),
        "exAllWritten": _("Every word was written from the vocabulary, none copied."),
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
        "exForgetDrop": _("Unit %(unit)s changed most: its forget gate at %(f)s let go of part "
                          "of what the cell held (%(before)s → %(after)s)."),
        "exWrite": _("Unit %(unit)s changed most: its input gate at %(i)s wrote %(g)s into the "
                     "cell (%(before)s → %(after)s)."),
        "exGateMapLabel": _("%(gate)s of the %(n)s units that changed most (rows), at each reply "
                            "word (columns), from 0 to 1 on the scale above."),
        "exWroteP": _("Probability"),
        "exTooLongForModel": _("This message is longer than Lembra reads: it will only see about "
                               "the last %(n)s words."),
    }
