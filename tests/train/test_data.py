"""Batches: correct shifting and padding, bucketed shapes, and every pair used once an epoch."""

import numpy as np

from chatbot.config import ModelConfig
from chatbot.tokenizer import Tokenizer
from train.data import BucketedBatches, Encoded, pad_batch, tf_dataset

CFG = ModelConfig(vocab_size=100, max_src_len=64, max_tgt_len=32)


def fake_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    src = [rng.integers(5, 100, rng.integers(1, 64)).astype(np.int32) for _ in range(n)]
    tgt = [rng.integers(5, 100, rng.integers(1, 31)).astype(np.int32) for _ in range(n)]
    return Encoded(src, tgt)


def test_pad_batch_shifts_the_target():
    (src, t_in), t_out = pad_batch([np.array([7, 8])], [np.array([9, 10, 11])], 4, 5)
    assert src.tolist() == [[7, 8, 0, 0]]
    assert t_in.tolist() == [[Tokenizer.bos_id, 9, 10, 11, 0]]
    assert t_out.tolist() == [[9, 10, 11, Tokenizer.eos_id, 0]]


def test_tf_buckets_pad_less_and_keep_every_pair():
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


def test_numpy_batches_use_few_shapes_and_every_pair():
    data = fake_data()
    batches = BucketedBatches(data, CFG, 16, seed=0)
    shapes = {(x[0].shape[1], x[1].shape[1]) for i in range(len(batches))
              for x, _ in [batches[i]]}
    assert len(shapes) <= 3
    assert sum(batches[i][0][0].shape[0] for i in range(len(batches))) == len(data)
