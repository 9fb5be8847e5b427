"""The WSGI entry point: `gunicorn app:app`, `flask --app app run`, `flask --app app init-db`."""

from chatbot.web.app import create_app

app = create_app()
