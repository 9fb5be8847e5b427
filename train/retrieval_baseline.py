"""The retrieval baseline: answer with the reply that followed the most similar training message.

The bot a user could write in an afternoon, and the bar Lembra has to clear: TF-IDF over word
1-2 grams of every training message (scikit-learn), cosine similarity to the visitor's last
message, and the reply that followed the best match, shown as it is. It ranks given replies the
same way (cosine of the reply to the last message: the bag-of-words ranker of Lowe et al. 2015),
so `train.evaluate --baseline retrieval` reports it on the same figures as a model bundle.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chatbot.bundle import MANIFEST_FILE


@dataclass
class Answer:
    text: str
    latency_ms: float
    finished: bool = True
    pieces: list = field(default_factory=list)


class RetrievalBot:
    def __init__(self, pairs):
        from sklearn.feature_extraction.text import TfidfVectorizer

        pairs = [(c, r) for c, r in pairs if c and c[-1].strip() and r.strip()]
        if not pairs:
            raise ValueError("the retrieval baseline needs at least one (message, reply) pair")
        self.replies = [" ".join(r.split()) for _, r in pairs]
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self.messages = self.vectorizer.fit_transform([c[-1] for c, _ in pairs])

    @classmethod
    def for_bundle(cls, bundle: str | Path, context_turns: int = 1) -> "RetrievalBot":
        """Over the training split of the corpus the bundle was trained on."""
        from train.pairs import corpus_pairs

        manifest = json.loads((Path(bundle) / MANIFEST_FILE).read_text())
        return cls(corpus_pairs(manifest["corpus"], manifest.get("path"), context_turns)[1]["train"])

    def reply(self, history: list[str], options=None) -> Answer:
        start = time.perf_counter()
        query = self.vectorizer.transform([history[-1] if history else ""])
        best = int(np.asarray((self.messages @ query.T).todense()).ravel().argmax())
        return Answer(self.replies[best], (time.perf_counter() - start) * 1000.0)

    def score(self, histories: list[list[str]], replies: list[str]) -> dict[str, np.ndarray]:
        """Cosine of each reply to its history's last message: how it ranks replies."""
        a = self.vectorizer.transform([h[-1] if h else "" for h in histories])
        b = self.vectorizer.transform(replies)
        return {"rerank": np.asarray(a.multiply(b).sum(axis=1)).ravel()}
