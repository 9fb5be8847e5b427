"""Is a message bad news, and is a reply cheerful? So that sad news never gets "that's awesome!".

VADER (Hutto and Gilbert, 2014: a sentiment lexicon with rules for negation, intensifiers and
punctuation; MIT, `vaderSentiment`) scores a text from -1 to 1. It misses news that carries no
sentiment words ("my grandmother is in the hospital"), so a message is also bad news when it
names a loss, an illness or a failure. A reply is cheerful when it cheers ("that's good",
"haha", "awesome") or VADER finds it clearly positive, unless it also sympathises: "i hope she
gets better soon" scores 0.7 in VADER and is exactly the kind answer wanted. The rerank mode
uses both: under bad news, a cheerful candidate is passed over for the next one (`chatbot.bot`).
"""

from __future__ import annotations

import re
from functools import lru_cache

BAD_NEWS_AT = -0.3  # a message's VADER compound at or below this is bad news
CHEERFUL_AT = 0.5  # a reply's compound at or above this is cheerful
BAD_NEWS = re.compile(
    r"\b(died|dead|death|passed away|put (him|her|it|them|our \w+) down|funeral|hospital|"
    r"cancer|tumou?r|surgery|sick|ill|disease|divorc\w*|splitting up|broke up|dumped|"
    r"fired|laid off|lost (my|our|her|his)|miss (him|her|them|my)|homesick|lonely|alone|"
    r"depress\w*|anxious|anxiety|panic|scared|worried|stress\w*|exhausted|crying|cried|"
    r"fail\w*|rejected|broke my|broken into|accident|crash|wrecked|"
    # a loss or a refusal without a sentiment word: "i didn't get the job", "nobody came"
    r"lost|losing|(didn'?t|did not|couldn'?t|can'?t|won'?t) (get|make|afford|pass|find)|"
    r"nobody|no one|stopped talking|mean to me|ignor\w+ me|doesn'?t (recognize|remember) me)\b")


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def valence(text: str) -> float:
    """VADER's compound score in [-1, 1]."""
    return float(_analyzer().polarity_scores(text)["compound"])


def is_bad_news(text: str) -> bool:
    return valence(text) <= BAD_NEWS_AT or bool(BAD_NEWS.search(" ".join(text.lower().split())))


CHEER = re.compile(r"\b(awesome|great|good|cool|nice|amazing|exciting|excited|fun|funny|"
                   r"congrat\w*|lucky|glad|happy|yay|wow|lol|haha\w*|hehe\w*|love)\b")
SYMPATHY = re.compile(r"\b(sorry|hope|better|sad|hang in|condolences?|miss|terrible|"
                      r"awful|sucks|poor|oh no|hugs?|here for you|what happened)\b")


def is_cheerful(text: str) -> bool:
    text = " ".join(text.lower().split())
    if SYMPATHY.search(text):
        return False
    return bool(CHEER.search(text)) or valence(text) >= CHEERFUL_AT


# What a kind answer to bad news says ("i'm so sorry to hear that", "that must be hard", "oh no"):
# stricter than SYMPATHY, which only keeps a reply from counting as cheerful.
CONDOLENCE = re.compile(
    r"\b((so |really |very )?sorry (to hear|for your loss|about (your|the|what))|i'?m (so |really |"
    r"very )?sorry|that('s| is| must be| must have been| sounds)( so| really| very)? (hard|rough|"
    r"tough|awful|terrible|sad|horrible|scary|stressful|frustrating|painful|difficult|upsetting)|"
    r"oh no|condolences|hang in there|here for you|sending (hugs|love)|that sucks|feel better|"
    r"hope (you|she|he|they|it|everything)( feel| gets?| will be| is| are)? ?(better|ok|okay|well|"
    r"alright|soon))")
NOT_CONDOLENCE = re.compile(r"\b(haha\w*|lol|lmao|funny|no (problem|worries)|sorry (about that|i|"
                            r"for the|to do this)|i have to go|gotta go)\b")


CONDOLENCE_WORDS = 16  # longer kind replies wander off ("oh no! avocadoes are amazing!")


def is_condolence(text: str) -> bool:
    """A short reply that meets bad news kindly and nothing else: the examples Lembra prefers
    to write from there."""
    text = " ".join(text.lower().split())
    return (bool(CONDOLENCE.search(text)) and len(text.split()) <= CONDOLENCE_WORDS
            and not NOT_CONDOLENCE.search(text) and not CHEER.search(text))
