"""The storage layer: SQLAlchemy models and the queries the app runs, with no views.

Every function takes the `Session` to use, so the web layer decides when a session opens and
commits, and nothing here imports Flask or `chatbot.web`. `db` holds the models and the engine;
the other modules are one concept each: a visitor's conversations, the admin's transcripts and
search, the dashboard's numbers, admin accounts, and the model switches every worker follows.
"""
