from chatbot.tokenizer import Tokenizer
from tests.chatbot.conftest import SENTENCES


def test_ids_are_fixed(random_bundle):
    tok = Tokenizer(random_bundle / "tokenizer.model")
    assert [tok.sp.id_to_piece(i) for i in range(5)] == ["<pad>", "<unk>", "<s>", "</s>", "<sep>"]


def test_decode_drops_special_ids(random_bundle):
    tok = Tokenizer(random_bundle / "tokenizer.model")
    ids = tok.encode("hello how are you", bos=True, eos=True)
    assert tok.decode(ids + [tok.pad_id, tok.sep_id]) == "hello how are you"


def test_sampled_blank_piece_does_not_double_a_space(random_bundle):
    # The decoder may emit a bare word boundary before a piece that carries its own: the reply
    # must read (and re-encode) as ordinary single-spaced text.
    tok = Tokenizer(random_bundle / "tokenizer.model")
    word = next(i for i in range(5, tok.vocab_size)
                if tok.sp.id_to_piece(i).startswith("\u2581") and len(tok.sp.id_to_piece(i)) > 1)
    ids = tok.encode("hello") + [tok.blank_id, word, tok.blank_id]
    text = tok.decode(ids)
    assert text == "hello " + tok.sp.id_to_piece(word)[1:]
    assert tok.decode(tok.encode(text)) == text


def test_context_keeps_the_newest_turns(random_bundle):
    tok = Tokenizer(random_bundle / "tokenizer.model")
    ids = tok.encode_context(SENTENCES[:3], max_turns=2, max_len=64)
    assert ids.count(tok.sep_id) == 1
    assert tok.decode(ids) == "i am fine thanks what do you like to do"
    assert len(tok.encode_context(SENTENCES[:3], max_turns=3, max_len=5)) == 5
