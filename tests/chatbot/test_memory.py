"""Dropping clean library pages: only read-only, unwritten library mappings, and the process
goes on computing with the code it dropped."""

import subprocess
import sys
import textwrap
from pathlib import Path

from chatbot.memory import droppable_library_ranges

ROOT = Path(__file__).resolve().parents[2]

SMAPS = """\
7f0000000000-7f0000002000 r--p 00000000 08:01 11 /venv/lib/libtensorflow_cc.so.2
Rss:                   8 kB
Private_Dirty:         0 kB
Shared_Dirty:          0 kB
Anonymous:             0 kB
7f0000002000-7f0000004000 r-xp 00002000 08:01 11 /venv/lib/libtensorflow_cc.so.2
Private_Dirty:         0 kB
Shared_Dirty:          0 kB
Anonymous:             0 kB
7f0000004000-7f0000005000 r--p 00004000 08:01 11 /venv/lib/libtensorflow_cc.so.2
Private_Dirty:         4 kB
Anonymous:             4 kB
7f0000005000-7f0000006000 rw-p 00005000 08:01 11 /venv/lib/libtensorflow_cc.so.2
Private_Dirty:         0 kB
7f0000006000-7f0000007000 r--p 00000000 08:01 12 /venv/data/weights.h5
Private_Dirty:         0 kB
7f0000007000-7f0000008000 r--p 00000000 00:00 0
Private_Dirty:         0 kB
"""


def test_only_clean_read_only_library_mappings_are_droppable():
    # the relocated (dirty) segment, the writable one, a data file and anonymous memory stay
    assert droppable_library_ranges(SMAPS) == [(0x7f0000000000, 0x7f0000002000),
                                               (0x7f0000002000, 0x7f0000004000)]


def test_released_code_still_runs_and_resident_memory_falls():
    script = textwrap.dedent("""
        import numpy as np
        from chatbot.memory import release_unused_memory

        def rss():
            return next(int(l.split()[1]) for l in open("/proc/self/status")
                        if l.startswith("VmRSS"))

        a = np.arange(300.0).reshape(20, 15)
        expected = (a @ a.T).sum()
        before = rss()
        dropped = release_unused_memory()
        after = rss()
        assert dropped > 0 and after < before, (dropped, before, after)
        assert (a @ a.T).sum() == expected and np.linalg.norm(a) > 0  # code pages refault
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
