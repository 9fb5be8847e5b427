"""A serving worker's resident memory, kept to what it uses (measurements in docs/benchmarks.md).

Importing TensorFlow maps its 790 MB library and leaves about 430 MB of its code and read-only
data resident, of which replying touches about 100 MB. Those pages are clean copies of the file:
dropping them from this process costs nothing but a page fault (served from the page cache) the
next time one is used, which is what the kernel itself does to such pages under memory pressure.
Linux only; elsewhere these functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
from pathlib import Path

MADV_DONTNEED = 4
M_ARENA_MAX = -8  # glibc mallopt
_RANGE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$")


def _libc():
    name = ctypes.util.find_library("c")
    if not name or not Path("/proc/self/smaps").exists():
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        return libc
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim): leave memory alone
        return None


def limit_malloc_arenas(arenas: int) -> None:
    """Cap glibc's malloc arenas: each thread that allocates while another holds the main arena
    gets its own (up to 8 per core), and a gthread worker has 16 threads that each keep theirs."""
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(M_ARENA_MAX, arenas)


def droppable_library_ranges(smaps: str) -> list[tuple[int, int]]:
    """Address ranges of shared-library mappings that are read-only and wholly clean copies of
    their file (no page written or anonymous), so dropping them loses nothing."""
    ranges, current = [], None
    for line in smaps.splitlines():
        if match := _RANGE.match(line):
            start, end, perms, path = match.groups()
            current = None
            if "w" not in perms and ".so" in Path(path.strip()).name:
                current = {"range": (int(start, 16), int(end, 16)), "dirty": 0}
                ranges.append(current)
        elif current is not None and line.startswith(("Private_Dirty:", "Shared_Dirty:",
                                                       "Anonymous:")):
            current["dirty"] += int(line.split()[1])
    return [r["range"] for r in ranges if r["dirty"] == 0]


def release_unused_memory() -> int:
    """Hand back freed heap (malloc_trim) and drop the clean library pages mapped so far; the
    bytes of library mappings dropped (0 where this cannot be done)."""
    libc = _libc()
    if libc is None:
        return 0
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
    dropped = 0
    for start, end in droppable_library_ranges(Path("/proc/self/smaps").read_text()):
        if libc.madvise(start, end - start, MADV_DONTNEED) == 0:
            dropped += end - start
    return dropped
