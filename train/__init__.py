"""Training scripts (`python -m train.<script>`)."""

import chatbot  # noqa: F401  (Python's SQLite before TensorFlow's: see chatbot/__init__.py)
