"""Dialogue corpora in, one internal form out: conversations of (speaker, text) turns.

Formats read here:
- chitchat: the Chit-Chat Challenge corpus packaged as PyPI `chitchat-dataset` (the default);
  one JSON object of conversations, each a list of message groups by one sender.
- cornell: Cornell Movie-Dialogs (Danescu-Niculescu-Mizil and Lee, 2011): `movie_lines.txt` and
  `movie_conversations.txt`, fields separated by ' +++$+++ ', ISO-8859-1.
- dailydialog: DailyDialog (Li et al., 2017) `dialogues_text.txt`: a dialogue per line, turns
  ended by '__eou__', speakers alternating.
- jsonl: one conversation per line, {"id": ..., "turns": [{"speaker": ..., "text": ...}, ...]}
  or {"turns": ["text", "text", ...]}.
- transcripts: Lembra's own admin export, the same JSONL with "role" for the speaker, an optional
  "correction" (an accepted better bot reply, used instead of the reply) and "rating" (1 or -1).

A file that cannot be read fails with a CorpusError naming the file, the line and the reason.
Empty turns are dropped, then conversations with fewer than two turns.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CORNELL_SEP = " +++$+++ "
CORNELL_FILES = ("movie_lines.txt", "movie_conversations.txt")
DAILYDIALOG_FILE = "dialogues_text.txt"


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    rating: int | None = None  # transcripts only: the user's thumbs up (1) or down (-1)


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[Turn, ...]
    source: str  # corpus name


class CorpusError(ValueError):
    """A corpus that cannot be read; the message names the file, the line and the reason."""


def _error(path, line: int | None, reason: str) -> CorpusError:
    return CorpusError(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


def _clean(text: str) -> str:
    return " ".join(text.split())


def _conversation(conv_id: str, turns, source: str) -> Conversation | None:
    """Drop empty turns; None when fewer than two remain."""
    turns = tuple(t for t in turns if t.text)
    return Conversation(conv_id, turns, source) if len(turns) >= 2 else None


def _read_text(path, encoding: str = "utf-8") -> str:
    """The whole file as text; a missing, empty or mis-encoded file is a CorpusError."""
    path = Path(path)
    if not path.is_file():
        raise _error(path, None, "no such file")
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(path, line, f"not valid {encoding} (byte {data[exc.start]:#04x})") from None
    if not text.strip():
        raise _error(path, None, "empty file")
    return text.removeprefix("\ufeff")


# -- chitchat -----------------------------------------------------------------------------------


def load_chitchat(path: str | None = None) -> list[Conversation]:
    """The Chit-Chat Challenge corpus; one turn per message group, its messages one a line."""
    if path is None:
        import chitchat_dataset

        path = chitchat_dataset._PATH
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise _error(path, exc.lineno, f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise _error(path, 1, "expected a JSON object of conversations")
    convs = []
    for conv_id, value in data.items():
        groups = value.get("messages") if isinstance(value, dict) else None
        if not isinstance(groups, list):
            raise _error(path, None, f"conversation {conv_id!r}: missing 'messages' list")
        turns = []
        for group in groups:
            if not isinstance(group, list) or not group:
                raise _error(path, None, f"conversation {conv_id!r}: a message group is not a "
                                         "non-empty list")
            try:
                sender = str(group[0]["sender"])
                # Messages stay on their own lines: a reply too long for the model is cut at one.
                text = "\n".join(filter(None, (_clean(str(m["text"])) for m in group)))
            except (KeyError, TypeError):
                raise _error(path, None, f"conversation {conv_id!r}: a message lacks 'sender' "
                                         "or 'text'") from None
            turns.append(Turn(sender, text))
        if conv := _conversation(str(conv_id), turns, "chitchat"):
            convs.append(conv)
    return convs


# -- cornell ------------------------------------------------------------------------------------


def _cornell_fields(path, lineno: int, line: str, n: int) -> list[str]:
    fields = line.split(CORNELL_SEP, n - 1)
    if len(fields) != n:
        raise _error(path, lineno, f"expected {n} fields separated by {CORNELL_SEP!r}, "
                                   f"got {len(fields)}")
    return fields


def load_cornell(directory) -> list[Conversation]:
    """Cornell Movie-Dialogs: the lines by id, then each conversation's list of line ids."""
    directory = Path(directory)
    if directory.is_file():  # accept either file of the pair
        directory = directory.parent
    lines_path, convs_path = (directory / name for name in CORNELL_FILES)
    lines: dict[str, Turn] = {}
    for lineno, line in enumerate(_read_text(lines_path, "iso-8859-1").splitlines(), 1):
        if not line.strip():
            continue
        line_id, character, _movie, _name, text = _cornell_fields(lines_path, lineno, line, 5)
        lines[line_id.strip()] = Turn(character.strip(), _clean(text))
    convs = []
    for lineno, line in enumerate(_read_text(convs_path, "iso-8859-1").splitlines(), 1):
        if not line.strip():
            continue
        _a, _b, movie, ids = _cornell_fields(convs_path, lineno, line, 4)
        try:
            ids = ast.literal_eval(ids.strip())
        except (ValueError, SyntaxError):
            ids = None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise _error(convs_path, lineno, "expected a list of line ids like ['L194', 'L195']")
        turns = []
        for line_id in ids:
            if line_id not in lines:
                raise _error(convs_path, lineno, f"unknown line id {line_id!r} "
                                                 f"(not in {CORNELL_FILES[0]})")
            turns.append(lines[line_id])
        if conv := _conversation(f"{movie.strip()}/{ids[0]}", turns, "cornell"):
            convs.append(conv)
    return convs


# -- dailydialog --------------------------------------------------------------------------------


def _detokenize(text: str) -> str:
    """DailyDialog is pre-tokenized ('Say , Jim , how ...?'); put punctuation back in place."""
    text = re.sub(r"\s+([,.!?;:%)])", r"\1", text)
    text = re.sub(r"\s*([’'])\s*(s|t|re|ve|ll|d|m)\b", r"\1\2", text)
    return re.sub(r"([(])\s+", r"\1", text)


def load_dailydialog(path) -> list[Conversation]:
    """DailyDialog: one dialogue per line, each turn ended by '__eou__', speakers A and B."""
    path = Path(path)
    if path.is_dir():
        path = path / DAILYDIALOG_FILE
    convs = []
    for lineno, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        if "__eou__" not in line:
            raise _error(path, lineno, "no '__eou__' turn separator")
        texts = [_clean(_detokenize(t)) for t in line.split("__eou__")]
        turns = [Turn("AB"[i % 2], t) for i, t in enumerate(t for t in texts if t)]
        if conv := _conversation(f"{path.stem}:{lineno}", turns, "dailydialog"):
            convs.append(conv)
    return convs


# -- jsonl and transcripts ----------------------------------------------------------------------


def _jsonl_turn(path, lineno: int, i: int, turn) -> Turn:
    """One turn: a bare string, or an object with speaker/role, text, correction and rating."""
    where = f"turn {i}"
    if isinstance(turn, str):
        return Turn("AB"[i % 2], _clean(turn))
    if not isinstance(turn, dict):
        raise _error(path, lineno, f"{where}: expected an object or a string")
    speaker = turn.get("speaker", turn.get("role", "AB"[i % 2]))
    text = turn.get("correction") or turn.get("text")
    rating = turn.get("rating")
    if text is None:
        raise _error(path, lineno, f"{where}: missing 'text'")
    if not isinstance(text, str):
        raise _error(path, lineno, f"{where}: 'text' must be a string")
    if not isinstance(speaker, str):
        raise _error(path, lineno, f"{where}: 'speaker' must be a string")
    if rating not in (None, 1, -1) or isinstance(rating, bool):
        raise _error(path, lineno, f"{where}: 'rating' must be 1, -1 or absent, got {rating!r}")
    return Turn(speaker, _clean(text), rating)


def _load_jsonl(path, source: str) -> list[Conversation]:
    path = Path(path)
    convs = []
    for lineno, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _error(path, lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(record, dict):
            raise _error(path, lineno, "expected a JSON object")
        turns = record.get("turns")
        if not isinstance(turns, list):
            raise _error(path, lineno, "missing 'turns' list")
        conv_id = record.get("id", f"{path.stem}:{lineno}")
        if not isinstance(conv_id, str | int):
            raise _error(path, lineno, "'id' must be a string")
        parsed = [_jsonl_turn(path, lineno, i, t) for i, t in enumerate(turns)]
        if conv := _conversation(str(conv_id), parsed, source):
            convs.append(conv)
    return convs


def load_jsonl(path) -> list[Conversation]:
    """Generic JSONL: one conversation per line (also reads Lembra's transcript export)."""
    return _load_jsonl(path, "jsonl")


def load_transcripts(path) -> list[Conversation]:
    """Lembra's admin export (JSONL), or a DATABASE_URL read through that same export; a bot
    turn's accepted correction replaces its text."""
    if is_database_url(path):
        with export_from_database(str(path)) as file:
            return _load_jsonl(file, "transcripts")
    return _load_jsonl(path, "transcripts")


def is_database_url(path) -> bool:
    return isinstance(path, str) and "://" in path


PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")


def redacted(path: str | None) -> str | None:
    """A corpus path fit to save in a bundle or show: a database URL's password becomes ***."""
    return PASSWORD.sub(r"\1:***@", path) if is_database_url(path) else path


@contextlib.contextmanager
def export_from_database(url: str) -> Iterator[Path]:
    """The admin's JSONL export of every stored conversation, in a private temporary folder
    (mode 0700) that is removed when the block ends, whether training read it or failed: a copy
    left behind would outlive a visitor's "delete for good".

    Deleted conversations are gone from the database (deletes are hard, cascading), so they can
    never reach training."""
    import shutil
    import tempfile

    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from chatbot.storage.db import make_engine
    from chatbot.storage.search import Filters
    from chatbot.storage.transcripts import export_jsonl

    folder = Path(tempfile.mkdtemp(prefix="lembra-transcripts-"))
    out = folder / "database.jsonl"
    try:
        try:
            engine = make_engine(url)
            with Session(engine) as session, open(out, "w", encoding="utf-8") as f:
                for line in export_jsonl(session, Filters()):
                    f.write(line)
            engine.dispose()
        except (SQLAlchemyError, ValueError) as exc:
            raise CorpusError(f"{url.split('://')[0]}://...: cannot read transcripts "
                              f"({type(exc).__name__})") from exc
        yield out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- by name ------------------------------------------------------------------------------------

LOADERS = {
    "chitchat": load_chitchat,
    "cornell": load_cornell,
    "dailydialog": load_dailydialog,
    "jsonl": load_jsonl,
    "transcripts": load_transcripts,
}


def source_files(name: str, path: str | None) -> list[Path]:
    """The files a corpus is read from (for the manifest's checksums)."""
    if name == "chitchat" and path is None:
        import chitchat_dataset

        return [Path(chitchat_dataset._PATH)]
    if is_database_url(path):
        return []  # a live database has no file to checksum
    path = Path(path)
    if name == "cornell":
        directory = path.parent if path.is_file() else path
        return [directory / f for f in CORNELL_FILES]
    if name == "dailydialog" and path.is_dir():
        return [path / DAILYDIALOG_FILE]
    return [path]


def load_corpus(name: str, path: str | None) -> list[Conversation]:
    """Load corpus `name` from `path` (a file, or a directory for cornell)."""
    if name not in LOADERS:
        raise CorpusError(f"unknown corpus {name!r}; choose one of {', '.join(LOADERS)}")
    if path is None and name != "chitchat":
        raise CorpusError(f"corpus {name!r} needs a path to its data")
    if path is not None and not is_database_url(path) and not Path(path).exists():
        raise CorpusError(f"{path}: no such file or directory")
    return LOADERS[name](path)
