"""Errors as JSON `{"error": "..."}` with the right status for the API; a small page otherwise."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or (
        request.accept_mimetypes.best_match(["application/json", "text/html"])
        == "application/json")


def json_error(status: int, message: str, **extra: object) -> tuple[Response, int]:
    return jsonify(error=message, **extra), status


def _http_error(exc: HTTPException) -> tuple[Response | str, int]:
    status = exc.code or 500
    if wants_json():
        response, status = json_error(status, exc.description or exc.name)
        for key, value in (exc.get_headers() if status in (405, 429) else []):
            if key.lower() in ("allow", "retry-after"):
                response.headers[key] = value
        return response, status
    return render_template("error.html", status=status, message=exc.description), status


def _unexpected(exc: Exception) -> tuple[Response | str, int]:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    from flask import current_app

    current_app.logger.exception("unhandled error")
    return _http_error(InternalServerError(description="internal server error"))


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
