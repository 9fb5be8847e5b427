"""Each loader reads a good file, and fails on bad ones naming the file, the line and the reason."""

import json

import pytest

from train.corpora import (
    Conversation,
    CorpusError,
    Turn,
    load_chitchat,
    load_cornell,
    load_corpus,
    load_dailydialog,
    load_jsonl,
    load_transcripts,
    source_files,
)

SEP = " +++$+++ "


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def texts(conv: Conversation) -> list[str]:
    return [t.text for t in conv.turns]


# -- chitchat -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chitchat():
    return load_chitchat()


def test_chitchat_packaged_corpus(chitchat):
    import chitchat_dataset

    with open(chitchat_dataset._PATH, encoding="utf-8") as f:
        raw = json.load(f)
    assert len(raw) == 7168
    # 3,150 conversations are one sender's messages with no reply, and one more has an empty
    # first message: the rest have at least two turns.
    assert len(chitchat) == 4017
    assert all(c.source == "chitchat" and len(c.turns) >= 2 for c in chitchat)
    assert all(t.text and all(line == " ".join(line.split()) for line in t.text.split("\n"))
               for c in chitchat for t in c.turns)
    first = next(c for c in chitchat if c.id == "a07edb12-6b91-4138-b11e-02421888d699")
    assert first.turns[0] == Turn("720840be-e522-47ba-9e9f-143f66372673",
                                  "Hello\nHow are you doing today?")
    assert first.turns[1].text.replace("\n", " ") == "whats up MD im doing good how are you doing?"


def test_chitchat_small_file(tmp_path):
    data = {
        "c1": {"messages": [
            [{"text": "hi", "sender": "a"}, {"text": "there", "sender": "a"}],
            [{"text": "hello", "sender": "b"}],
            [{"text": "  ", "sender": "a"}],
        ]},
        "c2": {"messages": [[{"text": "anyone?", "sender": "a"}]]},
    }
    convs = load_chitchat(str(write(tmp_path / "chat.json", json.dumps(data))))
    assert convs == [Conversation("c1", (Turn("a", "hi\nthere"), Turn("b", "hello")), "chitchat")]


def test_chitchat_invalid_json_names_line(tmp_path):
    path = write(tmp_path / "chat.json", '{\n  "c1": {"messages": []},\n  "c2": oops\n}')
    with pytest.raises(CorpusError, match=r"chat\.json:3: invalid JSON"):
        load_chitchat(str(path))


def test_chitchat_missing_fields(tmp_path):
    path = write(tmp_path / "chat.json", json.dumps({"c1": {"messages": [[{"text": "hi"}]]}}))
    with pytest.raises(CorpusError, match=r"chat\.json: conversation 'c1': .*'sender'"):
        load_chitchat(str(path))
    path = write(tmp_path / "chat.json", json.dumps({"c1": {"turns": []}}))
    with pytest.raises(CorpusError, match=r"conversation 'c1': missing 'messages'"):
        load_chitchat(str(path))


# -- cornell ------------------------------------------------------------------------------------


def cornell(tmp_path, lines, convs, encoding="iso-8859-1"):
    write(tmp_path / "movie_lines.txt", "".join(SEP.join(f) + "\n" for f in lines), encoding)
    write(tmp_path / "movie_conversations.txt", "".join(SEP.join(f) + "\n" for f in convs),
          encoding)
    return tmp_path


LINES = [
    ("L1", "u0", "m0", "BIANCA", "They do not!"),
    ("L2", "u2", "m0", "CAMERON", "They do to!"),
    ("L3", "u0", "m0", "BIANCA", "Café?"),
    ("L4", "u2", "m0", "CAMERON", ""),
    ("L5", "u0", "m0", "BIANCA", "Alone."),
]


def test_cornell_good(tmp_path):
    convs = load_cornell(cornell(tmp_path, LINES, [
        ("u0", "u2", "m0", "['L1', 'L2', 'L3']"),
        ("u0", "u2", "m0", "['L4', 'L5']"),  # one empty turn leaves one: dropped
    ]))
    assert len(convs) == 1
    assert convs[0].id == "m0/L1" and convs[0].source == "cornell"
    assert texts(convs[0]) == ["They do not!", "They do to!", "Café?"]
    assert [t.speaker for t in convs[0].turns] == ["u0", "u2", "u0"]


def test_cornell_accepts_a_file_of_the_pair(tmp_path):
    cornell(tmp_path, LINES, [("u0", "u2", "m0", "['L1', 'L2']")])
    assert len(load_corpus("cornell", str(tmp_path / "movie_lines.txt"))) == 1


def test_cornell_wrong_field_count(tmp_path):
    directory = cornell(tmp_path, LINES, [])
    with (tmp_path / "movie_lines.txt").open("a", encoding="iso-8859-1") as f:
        f.write("L6 +++$+++ u0 +++$+++ m0\n")
    with pytest.raises(CorpusError, match=r"movie_lines\.txt:6: expected 5 fields .* got 3"):
        load_cornell(directory)


def test_cornell_unknown_line_id(tmp_path):
    directory = cornell(tmp_path, LINES, [
        ("u0", "u2", "m0", "['L1', 'L2']"),
        ("u0", "u2", "m0", "['L1', 'L99']"),
    ])
    with pytest.raises(CorpusError, match=r"movie_conversations\.txt:2: unknown line id 'L99'"):
        load_cornell(directory)


def test_cornell_bad_id_list(tmp_path):
    directory = cornell(tmp_path, LINES, [("u0", "u2", "m0", "L1, L2")])
    with pytest.raises(CorpusError, match=r"movie_conversations\.txt:1: expected a list"):
        load_cornell(directory)


def test_cornell_missing_file(tmp_path):
    write(tmp_path / "movie_lines.txt", "L1" + SEP + "u0" + SEP + "m0" + SEP + "A" + SEP + "hi\n")
    with pytest.raises(CorpusError, match=r"movie_conversations\.txt: no such file"):
        load_cornell(tmp_path)


# -- dailydialog --------------------------------------------------------------------------------


def test_dailydialog_good(tmp_path):
    path = write(tmp_path / "dialogues_text.txt",
                 "Say , Jim , how about a beer ? __eou__ I don ’ t know . __eou__ Why ? __eou__\n"
                 "\n"
                 "Only one turn . __eou__\n"
                 "Hi ! __eou__ Hello . __eou__\n")
    convs = load_dailydialog(tmp_path)  # a directory holding dialogues_text.txt works too
    assert [c.id for c in convs] == ["dialogues_text:1", "dialogues_text:4"]
    assert texts(convs[0]) == ["Say, Jim, how about a beer?", "I don’t know.", "Why?"]
    assert [t.speaker for t in convs[0].turns] == ["A", "B", "A"]
    assert load_dailydialog(path) == convs


def test_dailydialog_line_without_separator(tmp_path):
    path = write(tmp_path / "dialogues_text.txt", "Hi . __eou__ Hello . __eou__\nno marker\n")
    with pytest.raises(CorpusError, match=r"dialogues_text\.txt:2: no '__eou__'"):
        load_dailydialog(path)


def test_dailydialog_wrong_encoding(tmp_path):
    path = write(tmp_path / "dialogues_text.txt",
                 "Hi . __eou__ Hello . __eou__\nCafé ? __eou__ Oui . __eou__\n", "iso-8859-1")
    with pytest.raises(CorpusError, match=r"dialogues_text\.txt:2: not valid utf-8"):
        load_dailydialog(path)


def test_empty_file(tmp_path):
    path = write(tmp_path / "dialogues_text.txt", "\n  \n")
    with pytest.raises(CorpusError, match=r"dialogues_text\.txt: empty file"):
        load_dailydialog(path)


# -- jsonl --------------------------------------------------------------------------------------


def jsonl(path, records):
    return write(path, "".join(json.dumps(r) + "\n" for r in records))


def test_jsonl_good(tmp_path):
    path = jsonl(tmp_path / "chats.jsonl", [
        {"id": "x", "turns": [{"speaker": "user", "text": "hi  there\n"},
                              {"speaker": "bot", "text": "hello"}]},
        {"turns": ["one", "", "two", "three"]},
        {"turns": ["alone"]},
    ])
    convs = load_jsonl(path)
    assert convs[0] == Conversation("x", (Turn("user", "hi there"), Turn("bot", "hello")), "jsonl")
    assert convs[1].id == "chats:2"
    assert texts(convs[1]) == ["one", "two", "three"]
    assert [t.speaker for t in convs[1].turns] == ["A", "A", "B"]  # by position before dropping
    assert len(convs) == 2


@pytest.mark.parametrize(("line", "reason"), [
    ('{"turns": [', "invalid JSON"),
    ('["a", "b"]', "expected a JSON object"),
    ('{"id": "x"}', "missing 'turns' list"),
    ('{"turns": [{"speaker": "a"}, {"text": "b"}]}', "turn 0: missing 'text'"),
    ('{"turns": [{"text": 3}, {"text": "b"}]}', "turn 0: 'text' must be a string"),
    ('{"turns": ["a", 7]}', "turn 1: expected an object or a string"),
    ('{"turns": [{"text": "a", "rating": 5}, "b"]}', "turn 0: 'rating' must be 1, -1"),
])
def test_jsonl_bad_line(tmp_path, line, reason):
    path = write(tmp_path / "chats.jsonl", '{"turns": ["a", "b"]}\n\n' + line + "\n")
    with pytest.raises(CorpusError) as info:
        load_jsonl(path)
    assert str(info.value).startswith(f"{path}:3: ")
    assert reason in str(info.value)


# -- transcripts --------------------------------------------------------------------------------

TRANSCRIPT = {
    "id": "conv-7", "created_at": "2025-01-01T10:00:00Z", "model_versions": ["v1"],
    "turns": [
        {"role": "user", "text": "what's your name?"},
        {"role": "bot", "text": "i don't know", "correction": "I'm Lembra.", "rating": -1},
        {"role": "user", "text": "nice"},
        {"role": "bot", "text": "thanks!", "rating": 1},
    ],
}


def test_transcripts_use_corrections_and_keep_ratings(tmp_path):
    path = jsonl(tmp_path / "export.jsonl", [TRANSCRIPT])
    [conv] = load_transcripts(path)
    assert conv.id == "conv-7" and conv.source == "transcripts"
    assert conv.turns == (Turn("user", "what's your name?"), Turn("bot", "I'm Lembra.", -1),
                          Turn("user", "nice"), Turn("bot", "thanks!", 1))
    # The generic JSONL loader reads the export the same way.
    assert load_jsonl(path)[0].turns == conv.turns


def test_transcripts_bad_line(tmp_path):
    bad = {**TRANSCRIPT, "turns": [{"role": "user", "text": "hi"}, {"role": "bot"}]}
    path = jsonl(tmp_path / "export.jsonl", [TRANSCRIPT, bad])
    with pytest.raises(CorpusError, match=r"export\.jsonl:2: turn 1: missing 'text'"):
        load_transcripts(path)


# -- by name ------------------------------------------------------------------------------------


def test_load_corpus_errors(tmp_path):
    with pytest.raises(CorpusError, match="unknown corpus 'reddit'; choose one of chitchat"):
        load_corpus("reddit", None)
    with pytest.raises(CorpusError, match="corpus 'jsonl' needs a path"):
        load_corpus("jsonl", None)
    with pytest.raises(CorpusError, match=r"nope\.jsonl: no such file"):
        load_corpus("jsonl", str(tmp_path / "nope.jsonl"))


def test_load_corpus_dispatches(tmp_path):
    path = jsonl(tmp_path / "a.jsonl", [TRANSCRIPT])
    assert load_corpus("transcripts", str(path))[0].source == "transcripts"
    assert load_corpus("jsonl", str(path))[0].source == "jsonl"
    assert source_files("cornell", str(tmp_path)) == [tmp_path / "movie_lines.txt",
                                                      tmp_path / "movie_conversations.txt"]
    assert source_files("jsonl", str(path)) == [path]
