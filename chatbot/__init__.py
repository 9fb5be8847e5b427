"""Lembra: a seq2seq LSTM chatbot. The model layer is the modules here (config, tokenizer,
model, decoding, scorer, bot, ...: no Flask, no SQL); `chatbot.storage` is the database;
`chatbot.web` is the Flask app (`chatbot.web.app.create_app`).

Python's own sqlite3 is imported first thing, here, for every entry point: TensorFlow bundles an
SQLite without FTS5 (storage/search.py needs it), and whichever library loads SQLite first wins
for the whole process. Every `chatbot.*` import runs this file before anything else.
"""

import sqlite3  # noqa: F401
