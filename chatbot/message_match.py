"""How alike the visitor's message is to the message each memory reply once followed.

The scorer reads a conversation into one vector and, over a memory of 87k replies, favours long
replies full of topic words ("HSM 3 because it is a cinematic masterpiece ..." to "what's your
favorite movie?"). The retrieval bot's signal is the other half: a reply that followed "do you
have any pets?" answers "do you have pets?". `chatbot.bot` adds this similarity, weighted, to the
scorer's fit when it chooses the examples the LSTM writes from.

TF-IDF over word 1-2 grams with sublinear tf, as the retrieval baseline; the words are hashed
into 2^20 columns, so the index holds no vocabulary (about 20 MB for 87k messages, built in about
2 s when a bundle loads).
"""

from __future__ import annotations

import numpy as np

COLUMNS = 2**20


class MessageIndex:
    def __init__(self, messages: list[str]):
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

        self.hasher = HashingVectorizer(ngram_range=(1, 2), n_features=COLUMNS, alternate_sign=False,
                                        norm=None, dtype=np.float32)
        counts = self.hasher.transform(messages)
        self.tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        self.rows = self.tfidf.transform(counts).T.tocsr().astype(np.float32)  # (COLUMNS, N)
        self.size = len(messages)

    def similarities(self, messages: list[str]) -> np.ndarray:
        """(B, N) cosine of each message to every indexed one; 0 for a message of no known word."""
        queries = self.tfidf.transform(self.hasher.transform(messages)).astype(np.float32)
        return (queries @ self.rows).toarray()
