"""Errors as JSON `{"error": "..."}` with the right status for the API; a small page otherwise.

A database that is locked past its busy timeout or unreachable answers 503 (with Retry-After).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict, HTTPException, InternalServerError, ServiceUnavailable


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or (
        request.accept_mimetypes.best_match(["application/json", "text/html"])
        == "application/json")


def json_error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify(error=message, **extra), status


def http_error(exc: HTTPException) -> tuple[Response | str, int]:
    status = exc.code or 500
    if wants_json():
        response, status = json_error(status, exc.description or exc.name)
        for key, value in (exc.get_headers() if status in (405, 429, 503) else []):
            if key.lower() in ("allow", "retry-after"):
                response.headers[key] = value
        return response, status
    return render_template("error.html", status=status, message=exc.description), status


def _unexpected(exc: Exception) -> tuple[Response | str, int]:
    if isinstance(exc, HTTPException):
        return http_error(exc)
    current_app.logger.exception("unhandled error")
    return http_error(InternalServerError(description="internal server error"))


def database_problem(exc: OperationalError | InterfaceError) -> str:
    """What went wrong with the database, in words a visitor can act on (no paths, no SQL)."""
    if "full" in str(exc.orig or exc).lower():  # SQLite: "database or disk is full"
        return "the server's disk is full, so nothing new can be stored"
    return "the database is busy or unreachable"


def _database_down(exc: OperationalError | InterfaceError) -> tuple[Response | str, int]:
    """A locked, full or unreachable database is a 503 the client may retry, not a crash."""
    current_app.logger.error("database unavailable: %s", str(exc.orig or exc).splitlines()[0])
    return http_error(ServiceUnavailable(
        description=f"{database_problem(exc)}; please try again shortly", retry_after=5))


def _changed_meanwhile(exc: StaleDataError | IntegrityError) -> tuple[Response | str, int]:
    """A row this request read was deleted or changed by another one before it wrote (e.g. a
    message posted while its conversation is deleted): a 409 to reload on, not a crash."""
    current_app.logger.warning("conflicting concurrent change: %s", str(exc).splitlines()[0])
    return http_error(Conflict(description="this changed or was deleted meanwhile; reload"))


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(OperationalError, _database_down)
    app.register_error_handler(InterfaceError, _database_down)
    app.register_error_handler(StaleDataError, _changed_meanwhile)
    app.register_error_handler(IntegrityError, _changed_meanwhile)
    app.register_error_handler(Exception, _unexpected)
