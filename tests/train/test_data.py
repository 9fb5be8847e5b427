"""Batches: correct shifting and padding, length-planned batches, every pair used once an epoch."""

import numpy as np
import pytest

from chatbot.config import ModelConfig
from chatbot.tokenizer import Tokenizer
from train.data import (
    MAX_GROWTH,
    SOURCE_CLASS,
    BucketedBatches,
    Encoded,
    cut_reply,
    encode_pairs,
    pad_batch,
    plan_batches,
    tf_dataset,
    token_costs,
)

CFG = ModelConfig(vocab_size=100, max_src_len=64, max_tgt_len=32)


def fake_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    src = [rng.integers(5, 100, rng.integers(1, 64)).astype(np.int32) for _ in range(n)]
    tgt = [rng.integers(5, 100, rng.integers(1, 31)).astype(np.int32) for _ in range(n)]
    return Encoded(src, tgt)


def padded_cost(data, batch):
    w_src, w_tgt = token_costs(CFG)
    src_len, tgt_len = data.lengths()
    return len(batch) * (w_src * src_len[batch].max() + w_tgt * tgt_len[batch].max())


def test_pad_batch_shifts_the_target():
    (src, t_in), t_out = pad_batch([np.array([7, 8])], [np.array([9, 10, 11])], 4, 5)
    assert src.tolist() == [[7, 8, 0, 0]]
    assert t_in.tolist() == [[Tokenizer.bos_id, 9, 10, 11, 0]]
    assert t_out.tolist() == [[9, 10, 11, Tokenizer.eos_id, 0]]


def test_a_reply_token_costs_more_than_a_context_token():
    w_src, w_tgt = token_costs(ModelConfig(vocab_size=4000))
    assert 1.5 < w_tgt / w_src < 4  # measured on 2 CPU cores: 2.4
    assert token_costs(ModelConfig(vocab_size=32000))[1] > w_tgt  # the softmax grows with V


def test_plan_uses_every_pair_once_within_one_full_batch_of_cost():
    data = fake_data(2000)
    plan = plan_batches(data, CFG, 16, np.random.default_rng(0))
    assert sorted(np.concatenate(plan).tolist()) == list(range(len(data)))
    w_src, w_tgt = token_costs(CFG)
    budget = 16 * (w_src * CFG.max_src_len + w_tgt * CFG.max_tgt_len)
    assert all(padded_cost(data, b) <= budget or len(b) == 1 for b in plan)
    assert max(len(b) for b in plan) > 16  # short pairs travel in larger batches
    assert max(len(b) for b in plan) <= MAX_GROWTH * 16
    # grouping by length halves the padded work, while the plan stays shuffled
    full = len(data) * (w_src * CFG.max_src_len + w_tgt * CFG.max_tgt_len)
    assert sum(padded_cost(data, b) for b in plan) < 0.6 * full


def test_pairs_either_side_of_a_context_class_boundary_have_similar_replies():
    # reply lengths rise in one class and fall in the next: sorted the same way in both, the
    # batch across the boundary would hold the longest replies of one and the shortest of the other
    data = fake_data(1500)  # one pool
    order = np.concatenate(plan_batches(data, CFG, 16, np.random.default_rng(0), shuffle=False))
    src_len, tgt_len = data.lengths()
    boundaries = np.flatnonzero(np.diff((src_len[order] - 1) // SOURCE_CLASS))
    assert len(boundaries) == 3
    assert all(abs(tgt_len[order[i]] - tgt_len[order[i + 1]]) <= 2 for i in boundaries)


def test_plan_is_reproducible_and_reshuffled_each_epoch():
    data = fake_data()
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    first = plan_batches(data, CFG, 16, rng_a)
    assert [b.tolist() for b in first] == [b.tolist() for b in plan_batches(data, CFG, 16, rng_b)]
    second = plan_batches(data, CFG, 16, rng_a)
    assert [b.tolist() for b in first] != [b.tolist() for b in second]


def test_fixed_size_plan_has_batch_size_pairs():
    plan = plan_batches(fake_data(), CFG, 16, np.random.default_rng(0), equal_cost=False)
    assert sorted(len(b) for b in plan)[1:] == [16] * (len(plan) - 1)


def test_tf_batches_pad_less_and_keep_every_pair():
    data = fake_data()
    bucketed = list(tf_dataset(data, CFG, 16, bucketing=True, shuffle=True, seed=1))
    padded = list(tf_dataset(data, CFG, 16, bucketing=False, shuffle=True, seed=1))
    count = sum(int(x[0].shape[0]) for x, _ in bucketed)
    assert count == len(data) == sum(int(x[0].shape[0]) for x, _ in padded)
    assert all(x[1].shape[1] == CFG.max_tgt_len for x, _ in padded)
    bucketed_cells = sum(int(x[1].shape[0] * x[1].shape[1]) for x, _ in bucketed)
    padded_cells = sum(int(x[1].shape[0] * x[1].shape[1]) for x, _ in padded)
    assert bucketed_cells < 0.8 * padded_cells
    # the real tokens survive bucketing: same multiset of target ids
    real = sorted(int(t) for _, y in bucketed for t in np.asarray(y).ravel() if t)
    want = sorted(int(t) for tgt in data.target for t in [*tgt, Tokenizer.eos_id])
    assert real == want
    # each batch is padded to its own longest pair, no further
    for (src, _), y in bucketed:
        assert np.any(np.asarray(src)[:, -1]) and np.any(np.asarray(y)[:, -1])


def test_tf_batches_change_between_epochs():
    ds = tf_dataset(fake_data(), CFG, 16, bucketing=True, shuffle=True, seed=1)
    epoch = [[np.asarray(x[0]).tolist() for x, _ in ds] for _ in range(2)]
    assert epoch[0] != epoch[1]


def test_numpy_batches_use_few_shapes_and_every_pair():
    data = fake_data()
    batches = BucketedBatches(data, CFG, 16, seed=0)
    shapes = {(x[0].shape[1], x[1].shape[1]) for i in range(len(batches))
              for x, _ in [batches[i]]}
    assert len(shapes) <= 6
    assert sum(batches[i][0][0].shape[0] for i in range(len(batches))) == len(data)


def test_an_unended_reply_has_no_end_label():
    (_, t_in), t_out = pad_batch([np.array([7]), np.array([7])],
                                 [np.array([9, 10]), np.array([9, 10])], 1, 4, ended=[True, False])
    assert t_out.tolist() == [[9, 10, Tokenizer.eos_id, 0], [9, 10, 0, 0]]
    assert t_in.tolist() == [[Tokenizer.bos_id, 9, 10, 0]] * 2


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    texts = ["i like pizza a lot. do you?", "my dog is great", "what about you", "yes i do"] * 50
    return Tokenizer.train(texts, tmp_path_factory.mktemp("tok") / "t.model", vocab_size=60)


def test_a_long_reply_is_cut_after_its_last_whole_sentence_that_fits(tokenizer):
    reply = "i like pizza. my dog is great! what about you"
    whole = tokenizer.encode(reply)
    first_two = tokenizer.encode("i like pizza. my dog is great!")
    ids, ended = cut_reply(reply, tokenizer, len(whole) - 1)
    assert ended and ids == first_two
    assert cut_reply(reply, tokenizer, len(whole)) == (whole, True)


def test_a_long_reply_is_cut_at_a_message_boundary(tokenizer):
    reply = "yes i do\nmy dog is great\nwhat about you"
    ids, ended = cut_reply(reply, tokenizer, len(tokenizer.encode(reply)) - 1)
    assert ended and ids == tokenizer.encode("yes i do my dog is great")


def test_a_long_reply_with_no_boundary_is_cut_and_not_ended(tokenizer):
    reply = "my dog is great what about you yes i do"
    ids, ended = cut_reply(reply, tokenizer, 5)
    assert not ended and ids == tokenizer.encode(reply)[:5]


def test_encode_pairs_records_which_replies_end(tokenizer):
    cfg = ModelConfig(vocab_size=tokenizer.vocab_size, max_src_len=16, max_tgt_len=6)
    data = encode_pairs([(["hi"], "yes i do"), (["hi"], "my dog is great what about you yes")],
                        tokenizer, cfg)
    assert data.ended == [True, False]
    assert all(len(t) <= cfg.max_tgt_len - 1 for t in data.target)
