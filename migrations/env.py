"""Alembic environment: the database comes from DATABASE_URL (or the caller), never from alembic.ini.

`chatbot.storage.db.upgrade(url)` passes the URL in `config.attributes`; the `alembic` command line falls
back to `AppConfig.from_env()`, so `DATABASE_URL=postgresql+psycopg2://... alembic upgrade head`
migrates the same database the app would use.
"""

from logging.config import fileConfig

from alembic import context

from chatbot.config import AppConfig
from chatbot.storage.db import Base, make_engine
from chatbot.storage.search import is_search_object

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.attributes.get("database_url") or AppConfig.from_env().database_url


def include_name(name, type_, parent_names) -> bool:
    """Autogenerate ignores the full-text search objects, which live outside the models."""
    return not is_search_object(name)


def run_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        # render_as_batch lets later migrations alter columns on SQLite (copy-and-move tables).
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=True, compare_type=True, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
