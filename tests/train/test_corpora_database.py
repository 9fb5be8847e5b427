"""Transcripts straight from a DATABASE_URL: the admin export's records, read by the loader."""

from sqlalchemy.orm import Session

from chatbot.storage.db import Conversation, Feedback, Message, make_engine, upgrade
from train.corpora import CorpusError, load_corpus


def seed(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        conv = Conversation(visitor_id="v1", title="hello")
        conv.messages = [
            Message(role="user", text="hello there"),
            Message(role="bot", text="hi! how are you?", model_version="m-1"),
            Message(role="user", text="great, thanks"),
        ]
        session.add(conv)
        session.add(Conversation(visitor_id="v2", title="gone",
                                 messages=[Message(role="user", text="deleted soon")]))
        session.commit()
        session.add(Feedback(message_id=conv.messages[1].id, rating=1))
        gone = session.query(Conversation).filter_by(title="gone").one()
        session.delete(gone)
        session.commit()
    engine.dispose()


def test_load_transcripts_from_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'lembra.db'}"
    seed(url)
    convs = load_corpus("transcripts", url)
    assert len(convs) == 1  # the deleted conversation never comes back
    turns = convs[0].turns
    assert [t.text for t in turns] == ["hello there", "hi! how are you?", "great, thanks"]
    assert turns[1].rating == 1


def test_unreachable_database_is_a_corpus_error(tmp_path):
    url = "postgresql+psycopg2://nobody@127.0.0.1:1/none"
    try:
        load_corpus("transcripts", url)
    except CorpusError as exc:
        assert "cannot read transcripts" in str(exc) and "nobody" not in str(exc)
    else:
        raise AssertionError("expected a CorpusError")


def test_the_export_is_removed_after_reading_and_after_a_failure(tmp_path, monkeypatch):
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    url = f"sqlite:///{tmp_path / 'lembra.db'}"
    seed(url)
    assert load_corpus("transcripts", url)
    assert list(temp.iterdir()) == []  # no copy outlives a visitor's "delete for good"
    try:
        load_corpus("transcripts", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    except CorpusError:
        pass
    assert list(temp.iterdir()) == []


def test_a_tiny_training_from_a_database_saves_no_password_and_no_export(tmp_path, monkeypatch,
                                                                        postgres_url):
    """Trained from a PostgreSQL URL with a password (the test server trusts local users, so
    any password works): neither the bundle's files nor the temporary folder keep it or the
    conversations."""
    import tempfile

    from tests.conftest import TINY_MODEL_ARGS
    from train.train import main

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    seed(postgres_url)
    for _ in range(60):  # enough conversations for a train and a valid split
        _add_conversation(postgres_url)
    user = postgres_url.split("://", 1)[1].split("@", 1)[0]
    url = postgres_url.replace(f"://{user}@", f"://{user}:s3cret-pw@")
    args = [a for a in TINY_MODEL_ARGS if a != "chitchat"]
    args[args.index("--corpus") + 1:args.index("--corpus") + 1] = ["transcripts"]
    out = tmp_path / "bundle"
    assert main([*args, "--from", url, "--out", str(out), "--epochs", "1"]) == 0
    for file in out.rglob("*"):
        if file.is_file() and file.suffix in (".json", ".csv", ".md", ".txt"):
            assert "s3cret-pw" not in file.read_text(errors="replace"), file
    assert f"{user}:***@" in (out / "manifest.json").read_text()
    assert not any(temp.glob("lembra-transcripts-*"))


def _add_conversation(url: str) -> None:
    import uuid

    engine = make_engine(url)
    with Session(engine) as session:
        word = uuid.uuid4().hex[:6]
        session.add(Conversation(visitor_id="v3", title=word, messages=[
            Message(role="user", text=f"do you like {word}?"),
            Message(role="bot", text=f"yes, {word} is great", model_version="m-1"),
            Message(role="user", text="me too, see you"),
            Message(role="bot", text="bye for now", model_version="m-1"),
        ]))
        session.commit()
    engine.dispose()


def test_redacted_hides_only_the_password():
    from train.corpora import redacted

    assert redacted("postgresql://lembra:pw@db:5432/x") == "postgresql://lembra:***@db:5432/x"
    assert redacted("postgresql://lembra@db/x") == "postgresql://lembra@db/x"
    assert redacted("data/chats.jsonl") == "data/chats.jsonl"
    assert redacted(None) is None
