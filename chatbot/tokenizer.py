"""A thin SentencePiece wrapper (after llama's tokenizer.py).

The unigram model lives in the bundle beside the weights as `tokenizer.model`. Ids are fixed:
0 pad, 1 unk, 2 bos, 3 eos, 4 the turn separator that joins context turns for the encoder.
A tokenizer of a retrieve-and-refine model also has <ex>, which ends the example reply the
encoder reads before the context; `add_exemplar_piece` gives an older tokenizer that piece last,
so every id it had keeps its meaning.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import sentencepiece as spm

SEP = "<sep>"
EXEMPLAR = "<ex>"


class Tokenizer:
    pad_id, unk_id, bos_id, eos_id, sep_id = 0, 1, 2, 3, 4

    def __init__(self, model_path: str | Path):
        self.sp = spm.SentencePieceProcessor(model_file=str(model_path))
        self._by_spelling: dict[str, list[int]] | None = None  # built on first use
        assert self.sp.piece_to_id(SEP) == self.sep_id, "tokenizer lacks the <sep> symbol"
        found = self.sp.piece_to_id(EXEMPLAR)
        self.exemplar_id: int | None = None if found == self.unk_id else found

    @property
    def special_ids(self) -> set[int]:
        """Ids a reply never contains: pad, unk, bos, sep and <ex> (eos only ends it)."""
        ids = {self.pad_id, self.unk_id, self.bos_id, self.sep_id}
        return ids | ({self.exemplar_id} if self.exemplar_id is not None else set())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    @property
    def blank_id(self) -> int:
        """The bare word-boundary piece "\u2581": a reply made only of it reads as empty."""
        return self.sp.piece_to_id("\u2581")

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = self.sp.encode(normalize(text))
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def encode_context(self, turns: Sequence[str], max_turns: int, max_len: int) -> list[int]:
        """Last `max_turns` turns joined by <sep>, truncated from the left: the newest words matter most."""
        ids: list[int] = []
        for turn in turns[-max_turns:]:
            if ids:
                ids.append(self.sep_id)
            ids.extend(self.encode(turn))
        return ids[-max_len:] if ids else [self.unk_id]

    def encode_source(self, turns: Sequence[str], exemplar: str | None, max_turns: int,
                      max_len: int, max_exemplar: int) -> list[int]:
        """What a retrieve-and-refine encoder reads: the example reply (its first `max_exemplar`
        pieces) and <ex>, then the context; the context alone without an example."""
        context = self.encode_context(turns, max_turns, max_len)
        if exemplar is None or not max_exemplar or self.exemplar_id is None:
            return context
        return self.encode(exemplar)[:max_exemplar] + [self.exemplar_id] + context

    def decode(self, ids: Iterable[int]) -> str:
        """Whitespace collapsed as in `normalize`: a sampled bare "\u2581" before a "\u2581word" piece
        would otherwise show two spaces, and the text would not re-encode to the same pieces."""
        keep = [int(i) for i in ids if int(i) > self.sep_id and int(i) != self.exemplar_id]
        return " ".join(self.sp.decode(keep).split())

    def starting_pieces(self, text: str) -> list[int]:
        """Ids of every piece that spells the start of `text` (a bare word boundary counts): a
        reply that may begin with none of them cannot begin the way `text` does."""
        if self._by_spelling is None:
            self._by_spelling = {}
            for i in range(self.sep_id + 1, self.vocab_size):
                if i == self.exemplar_id:
                    continue
                spelled = self.sp.id_to_piece(i).replace("\u2581", " ")
                self._by_spelling.setdefault(spelled.strip(), []).append(i)
        text = normalize(text)
        ids = list(self._by_spelling.get("", []))
        for end in range(1, min(len(text), 24) + 1):
            ids += self._by_spelling.get(text[:end], [])
        return sorted(set(ids))

    def pieces(self, ids: Iterable[int]) -> list[str]:
        return [self.sp.id_to_piece(int(i)) for i in ids]

    @staticmethod
    def train(texts: Iterable[str], out_path: str | Path, vocab_size: int = 8000) -> "Tokenizer":
        """Train a unigram model; `hard_vocab_limit=False` lets tiny corpora get a smaller vocab."""
        out_path = Path(out_path)
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=(normalize(t) for t in texts),
            model_writer=model,
            model_type="unigram",
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            pad_id=0, unk_id=1, bos_id=2, eos_id=3,
            user_defined_symbols=[SEP, EXEMPLAR],
            character_coverage=0.9995,
            input_sentence_size=2_000_000,
            shuffle_input_sentence=True,
            num_threads=2,
            minloglevel=2,
        )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_bytes(model.getvalue())
        return Tokenizer(out_path)


def normalize(text: str) -> str:
    """Lower-case and collapse whitespace: chat text is noisy and the corpus is small."""
    return " ".join(text.lower().split())


def add_exemplar_piece(model_path: str | Path, out_path: str | Path) -> Tokenizer:
    """Copy a tokenizer, adding <ex> as its last piece when it lacks one (ids before it kept)."""
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    proto = model_pb2.ModelProto()
    proto.ParseFromString(Path(model_path).read_bytes())
    if not any(p.piece == EXEMPLAR for p in proto.pieces):
        piece = proto.pieces.add()
        piece.piece, piece.score = EXEMPLAR, 0.0
        piece.type = model_pb2.ModelProto.SentencePiece.USER_DEFINED
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_bytes(proto.SerializeToString())
    return Tokenizer(out_path)
