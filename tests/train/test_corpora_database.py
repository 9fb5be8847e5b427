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
