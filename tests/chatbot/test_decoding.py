"""Decoding: options validation, no retracing, batching, reproducible sampling, beam search, and
the XLA-compiled loop against the loop it replaced."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from chatbot.bot import Bot, trimmed_length
from chatbot.config import ConfigError
from chatbot.decoding import ROW_BUCKETS, DecodeOptions, _best_beam, bucket, gumbel_noise, source_buckets
from chatbot.rerank import teacher_arrays
from tests.chatbot import reference_sampler


@pytest.fixture(scope="module")
def bot(random_bundle):
    return Bot.load(random_bundle)


def test_options_from_dict_rejects_unknown_and_bad_values():
    assert DecodeOptions.from_dict({"mode": "beam", "beam_width": "3"}).beam_width == 3
    with pytest.raises(ConfigError, match="unknown"):
        DecodeOptions.from_dict({"bogus": 1})
    with pytest.raises(ConfigError, match="mode"):
        DecodeOptions.from_dict({"mode": "telepathy"})
    with pytest.raises(ConfigError, match="beam_width"):
        DecodeOptions.from_dict({"beam_width": 99})
    with pytest.raises(ConfigError, match="seed"):
        DecodeOptions.from_dict({"seed": "abc"})
    with pytest.raises(ConfigError):
        DecodeOptions.from_dict({"temperature": "hot"})


@pytest.mark.parametrize("mode", ["greedy", "sample", "beam", "rerank"])
def test_no_retracing_across_requests(bot, mode):
    options = DecodeOptions(mode=mode, seed=1)
    bot.reply(["hello"], options)
    bot.reply_batch([["hello"], ["hi"]], options)  # one row is a plain graph, more are XLA
    before = bot.decoder.trace_count()
    histories = [["hi"], ["what do you like to do", "i like books", "where are you from"],
                 ["a much longer message about pizza and books and cats and mountains"]]
    for h in histories:
        bot.reply(h, DecodeOptions(mode=mode, seed=2, max_len=7, beam_width=3))
    bot.reply_batch(histories, options)
    assert bot.decoder.trace_count() == before


def test_forced_length(bot):
    source, _ = bot.encode_histories([["hello"]])
    for mode in ("greedy", "beam", "sample"):
        out = bot.decoder.run(source, DecodeOptions(mode=mode, min_len=12, max_len=12, seed=0))
        assert out["tokens"].shape == (1, 12)


@pytest.mark.parametrize("mode", ["greedy", "beam", "sample", "rerank"])
def test_a_reply_cut_at_max_len_is_trimmed_and_says_so(bot, mode):
    options = DecodeOptions(mode=mode, min_len=12, max_len=12, seed=0)
    source, _ = bot.encode_histories([["hello"]])
    raw = bot.decoder.run(source, DecodeOptions(mode=mode if mode != "rerank" else "sample",
                                                min_len=12, max_len=12, seed=0))["tokens"][0]
    reply = bot.reply(["hello"], options, explain=True)
    assert not reply.finished
    assert 0 < len(reply.pieces) <= 12
    assert len(reply.explanation["attention"]) == len(reply.pieces)
    if mode != "rerank":
        pieces = bot.tokenizer.pieces(raw)
        assert reply.pieces == pieces[: trimmed_length(pieces)]


def test_trimmed_length_keeps_whole_sentences_then_whole_words():
    assert trimmed_length(["▁i", "▁like", "▁it", ".", "▁and", "▁th"]) == 4
    assert trimmed_length(["▁really", "?!", "▁so"]) == 2
    assert trimmed_length(["▁i", "▁like", "▁piz"]) == 2
    assert trimmed_length(["▁i", "▁like", "▁piz", "za"]) == 2
    assert trimmed_length(["▁pizzapizza", "za"]) == 2  # one word: nothing better to show


def test_beam_prefers_a_finished_hypothesis_over_a_better_cut_one():
    scores = tf.constant([[-1.0, -5.0, -9.0], [-1.0, -2.0, -3.0]])
    lengths = tf.constant([[8, 3, 4], [8, 8, 8]])
    finished = tf.constant([[False, True, True], [False, False, False]])
    best = _best_beam(scores, lengths, finished, tf.constant(0.6)).numpy()
    assert best.tolist() == [1, 3]  # request 0: its best finished beam; request 1: none finished


@pytest.mark.parametrize("mode", ["greedy", "beam", "sample", "rerank"])
def test_avoiding_earlier_replies_gives_a_different_reply_in_every_mode(bot, mode):
    options = DecodeOptions(mode=mode, seed=3)
    history = ["where are you from"]
    first = bot.reply(history, options)
    assert bot.reply(history, options).text == first.text  # same seed, same reply
    second = bot.reply(history, options, avoid=[first.text])
    third = bot.reply(history, options, avoid=[first.text, second.text])
    assert len({first.pieces[0], second.pieces[0], third.pieces[0]}) == 3
    assert len({first.text, second.text, third.text}) == 3


def test_batch_greedy_equals_one_by_one(bot):
    histories = [["hello how are you"], ["do you have any pets", "i have a cat"], ["pizza"]]
    options = DecodeOptions(mode="greedy")
    batched = [r.pieces for r in bot.reply_batch(histories, options)]
    single = [bot.reply(h, options).pieces for h in histories]
    assert batched == single


def test_beam_batch_equals_one_by_one(bot):
    histories = [["hello how are you"], ["good morning"]]
    options = DecodeOptions(mode="beam", beam_width=3)
    assert ([r.pieces for r in bot.reply_batch(histories, options)]
            == [bot.reply(h, options).pieces for h in histories])


def test_sampling_is_reproducible_with_a_seed_and_varies_without(bot):
    options = DecodeOptions(mode="sample", temperature=1.5, top_p=1.0, seed=42)
    assert bot.reply(["hello"], options).pieces == bot.reply(["hello"], options).pieces
    seen = {tuple(bot.reply(["hello"], DecodeOptions(mode="sample", temperature=1.5)).pieces)
            for _ in range(6)}
    assert len(seen) > 1


def _greedy_ids(bot, no_repeat_ngram):
    source, _ = bot.encode_histories([["hello"]])
    options = DecodeOptions(mode="greedy", min_len=20, max_len=20, no_repeat_ngram=no_repeat_ngram)
    return bot.decoder.run(source, options)["tokens"][0].tolist()


def test_no_repeated_trigrams(bot):
    ids = _greedy_ids(bot, 3)
    trigrams = [tuple(ids[i:i + 3]) for i in range(len(ids) - 2)]
    assert len(trigrams) == len(set(trigrams))


def test_repeats_happen_without_blocking(bot):
    """The guard above must be what removes repeats: an untrained model loops without it."""
    ids = _greedy_ids(bot, 0)
    trigrams = [tuple(ids[i:i + 3]) for i in range(len(ids) - 2)]
    assert len(trigrams) > len(set(trigrams))


def test_explanation_shapes(bot):
    reply = bot.reply(["hello how are you"], DecodeOptions(mode="beam"), explain=True)
    ex = reply.explanation
    assert len(ex["reply"]) == len(reply.pieces) == len(ex["attention"])
    assert all(len(row) == len(ex["source"]) for row in ex["attention"])
    np.testing.assert_allclose([sum(row) for row in ex["attention"]], 1.0, atol=1e-3)
    for gate in ("input", "forget", "output"):
        assert len(ex["gates"][gate]) == len(reply.pieces)
        assert all(0.0 < v < 1.0 for v in ex["gates"][gate])


def test_top_k_one_is_greedy(bot):
    greedy = bot.reply(["good morning"], DecodeOptions(mode="greedy")).pieces
    sampled = bot.reply(["good morning"], DecodeOptions(mode="sample", top_k=1, seed=5)).pieces
    assert greedy == sampled


def test_teacher_forcing_replays_the_generated_explanation(bot):
    source, _ = bot.encode_histories([["do you have any pets"]])
    generated = bot.decoder.run(source, DecodeOptions(mode="greedy", min_len=6, max_len=6))
    forced = bot.decoder.force(source, generated["tokens"])
    np.testing.assert_allclose(forced["attention"], generated["attention"], atol=1e-5)
    np.testing.assert_allclose(forced["gates"], generated["gates"], atol=1e-5)


def test_explain_a_given_reply(bot):
    ex = bot.explain(["do you have any pets"], "i have a cat")
    assert "".join(ex["reply"]).replace("\u2581", " ").strip() == "i have a cat"
    assert len(ex["attention"]) == len(ex["reply"]) == len(ex["gates"]["forget"])


def test_explanation_numbers_are_short(bot):
    reply = bot.reply(["hello"], DecodeOptions(mode="greedy"), explain=True)
    assert all(len(repr(v)) <= 7 for v in reply.explanation["gates"]["forget"])


def test_tiny_nucleus_is_greedy(bot):
    greedy = bot.reply(["good morning"], DecodeOptions(mode="greedy")).pieces
    for seed in range(3):
        options = DecodeOptions(mode="sample", temperature=1.0, top_p=1e-6, seed=seed)
        assert bot.reply(["good morning"], options).pieces == greedy


@pytest.mark.parametrize("mode", ["greedy", "sample", "beam", "rerank"])
def test_no_reply_reads_as_empty(random_bundle, mode):
    """A model that would rather end at once, or say only bare word boundaries, still says a word:
    the end of reply waits for a token with text in it, even with min_len 0."""
    eager = Bot.load(random_bundle)
    bias = np.zeros(eager.config.vocab_size, np.float32)
    bias[eager.tokenizer.eos_id], bias[eager.tokenizer.blank_id] = 100.0, 50.0
    eager.decoder.model.output_bias.assign(bias)
    for prompt in (["hello"], ["where are you from?"], ["?"]):
        reply = eager.reply(prompt, DecodeOptions(mode=mode, min_len=0, seed=3))
        assert reply.text.strip(), (prompt, reply.pieces)
        assert reply.pieces[-1] != "\u2581"  # it ended right after the first word


@pytest.mark.parametrize("mode", ["greedy", "sample", "beam", "rerank"])
def test_confidence_is_the_mean_log_probability_per_piece(bot, mode):
    """Whatever the search, the stored confidence is what teacher forcing gives for the reply."""
    history = ["what do you like to do"]
    reply = bot.reply(history, DecodeOptions(mode=mode, seed=4, max_len=12, min_len=1))
    assert reply.confidence is not None and reply.confidence < 0.0
    ids = [bot.tokenizer.sp.piece_to_id(p) for p in reply.pieces]
    source, _ = bot.encode_histories([history])
    t_in, t_out = teacher_arrays([ids], [reply.finished])
    forward = bot.decoder.score(source, t_in, t_out).numpy()[0]
    assert reply.confidence == pytest.approx(forward / (len(ids) + reply.finished), abs=1e-3)


# -- the fixed-shape loop, XLA-compiled, against the loop it replaced ---------------------------

HISTORIES = [["hello how are you"], ["do you have any pets", "i have a cat"], ["pizza"],
             ["what do you like to do"], ["where are you from"], ["good morning"],
             ["a much longer message about pizza and books and cats and mountains"]]


def _reference(bot, source, options, seed, banned):
    temperature = 0.0 if options.mode == "greedy" else options.temperature
    scalars = (options.max_len, options.min_len, temperature, options.top_k, options.top_p,
               options.no_repeat_ngram, options.repetition_penalty)
    out = reference_sampler.sample(bot.decoder, tf.constant(source), *map(tf.constant, scalars),
                                   tf.constant(gumbel_noise(seed, len(source))),
                                   tf.constant(banned))
    return {key: value.numpy() for key, value in out.items()}


@pytest.mark.parametrize("options", [
    DecodeOptions(mode="greedy", max_len=12),
    DecodeOptions(mode="greedy", max_len=9, no_repeat_ngram=2, repetition_penalty=1.5),
    DecodeOptions(mode="sample", temperature=1.5, top_p=1.0, max_len=12),
    DecodeOptions(mode="sample", temperature=0.9, top_k=5, top_p=0.8, min_len=3, max_len=10,
                  repetition_penalty=1.3),
], ids=["greedy", "greedy-bans", "sample", "sample-filtered"])
@pytest.mark.parametrize("rows", [1, 7, 19])
def test_the_compiled_loop_writes_what_the_old_loop_wrote(bot, options, rows):
    """Same seed, same replies: one row (a plain graph), a bucket padded from 7 rows, and 19 rows
    in two chunks, against the old loop whose finished rows left the batch. Rows end at different
    steps (an untrained model ends anywhere), and the first pieces of some rows are banned."""
    histories = [HISTORIES[i % len(HISTORIES)] for i in range(rows)]
    source, _ = bot.encode_histories(histories)
    banned = np.zeros((rows, 2), np.int32)
    banned[::2] = bot.decoder.run(source, options)["tokens"][::2, :1]
    seed = 11
    got = bot.decoder.run(source, dataclasses.replace(options, seed=seed), banned)
    want = _reference(bot, source, options, seed, banned)
    np.testing.assert_array_equal(got["tokens"], want["tokens"])
    for key in ("attention", "gates", "logp"):
        np.testing.assert_allclose(got[key], want[key], atol=1e-5)


def test_a_rows_draws_are_its_own_whatever_the_batch(bot):
    """Row 0 with one seed says the same alone (graph), among 8 (XLA) and among 20 (chunked)."""
    options = DecodeOptions(mode="sample", temperature=1.5, top_p=1.0, seed=7)
    alone = bot.reply_batch([["good morning"]], options)[0].pieces
    for others in (7, 19):
        batch = [["good morning"]] + [HISTORIES[i % len(HISTORIES)] for i in range(others)]
        assert bot.reply_batch(batch, options)[0].pieces == alone


def test_warm_up_compiles_every_shape_a_request_can_meet(random_bundle):
    fresh = Bot.load(random_bundle)
    assert fresh.decoder.warm_up() > 0
    buckets = source_buckets(fresh.config.max_source_len)
    expected = {(rows, length) for rows in ROW_BUCKETS[1:] for length in buckets}
    assert fresh.decoder.compiled_shapes == expected
    fresh.reply_batch(HISTORIES * 3, DecodeOptions(seed=1))  # 8 drafts each: 168 rows
    fresh.reply_batch(HISTORIES[:2], DecodeOptions(mode="greedy"))
    assert fresh.decoder.compiled_shapes == expected


def test_source_buckets_cover_every_length_up_to_the_longest():
    assert source_buckets(97) == (16, 32, 48, 64, 80, 97)
    assert source_buckets(64) == (16, 32, 48, 64)
    assert source_buckets(10) == (10,)
    assert [bucket(n, (16, 32)) for n in (1, 16, 17, 32, 33, 50)] == [16, 16, 32, 32, 48, 64]


def test_without_xla_nothing_is_compiled_and_the_replies_are_the_same(random_bundle, bot):
    plain = Bot.load(random_bundle, xla=False)
    assert plain.decoder.warm_up() < 1.0 and not plain.decoder.compiled_shapes
    options = DecodeOptions(seed=5)
    assert ([r.pieces for r in plain.reply_batch(HISTORIES, options)]
            == [r.pieces for r in bot.reply_batch(HISTORIES, options)])


@pytest.mark.parametrize("mode", ["sample", "rerank"])
def test_a_stored_seed_replays_its_reply_whatever_batch_wrote_it(bot, mode):
    histories = HISTORIES[:4]
    batched = bot.reply_batch(histories, DecodeOptions(mode=mode), seeds=[5, 6, 7, 8])
    assert [r.options["seed"] for r in batched] == [5, 6, 7, 8]
    for history, reply in zip(histories, batched):
        alone = bot.reply(history, DecodeOptions.from_dict(reply.options))
        assert alone.pieces == reply.pieces
