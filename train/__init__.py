"""Training scripts (`python -m train.<script>`)."""

import sqlite3  # noqa: F401  (load Python's SQLite before TensorFlow, whose bundled one lacks FTS5)
