"""bench.recycle on the tiny model: workers recycle mid-run, and the service never pauses."""

import argparse

from bench.recycle import one_run


def test_workers_recycle_under_load_without_a_pause_or_a_lost_message(tiny_bundle):
    args = argparse.Namespace(clients=4, minutes=0.5, max_requests=60, start_timeout=180.0,
                              keep_log=None)
    run = one_run(tiny_bundle, args)
    assert run["recycled"] >= 1, run
    assert run["errors"] == 0 and run["lost_messages"] == 0, run
    assert run["replies"] > 100 and run["longest_gap_s"] < 5.0, run
