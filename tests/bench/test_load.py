"""bench.load's memory figure: read from /proc for the children of a given process."""

import os
import subprocess
import sys
import time

from bench.load import worker_memory_mb


def test_worker_memory_is_the_largest_child():
    # a child that holds ~60 MB more than an idle interpreter, and one that does not
    big = "b = bytearray(60 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(60)"
    children = [subprocess.Popen([sys.executable, "-c", code])
                for code in (big, "import time; time.sleep(60)")]
    try:
        deadline = time.monotonic() + 30
        while (memory := worker_memory_mb(os.getpid()))["worker_rss_mb"] < 60:
            assert time.monotonic() < deadline, memory
            time.sleep(0.2)
        assert 60 < memory["worker_rss_mb"] < 200
        assert 0 < memory["worker_pss_mb"] <= memory["worker_rss_mb"]
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert worker_memory_mb(children[0].pid) == {"worker_rss_mb": 0.0, "worker_pss_mb": 0.0}
