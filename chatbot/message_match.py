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
from scipy import sparse

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

    def similarities(self, messages: list[str], earlier: list[str] | None = None,
                     weight: float = 0.0) -> np.ndarray:
        """(B, N) cosine of each message to every indexed one; 0 for a message of no known word.

        With `earlier` (the visitor's message before each one) and a weight, the query is the
        message's vector plus `weight` times the earlier one's, so "what kind?" after "do you like
        music" finds replies that followed questions about music, not about dogs or cars."""
        queries = self._vectors(messages)
        if earlier is not None and weight > 0:
            queries = queries + weight * self._vectors(earlier)
            norms = np.sqrt(np.asarray(queries.multiply(queries).sum(1))).ravel()
            queries = sparse.diags(1.0 / np.maximum(norms, 1e-12)).astype(np.float32) @ queries
        return (queries @ self.rows).toarray()

    def _vectors(self, messages: list[str]):
        return self.tfidf.transform(self.hasher.transform(messages)).astype(np.float32)
