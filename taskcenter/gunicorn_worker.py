"""gunicorn's threaded worker, answering its own errors as JSON and closing on request.

Why: gunicorn answers a request line over its limit (414), too many or too large
headers (431) and other malformed requests itself, with an HTML page, before Django
sees them; an API client must be able to parse every answer. And gunicorn drops the
`Connection` header an application sets, so a refused, unread body (see
`taskcenter.middleware`) would be answered "keep-alive" and the connection then cut:
here the environ flag the middleware sets closes it properly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

from taskcenter.middleware import CLOSE_CONNECTION

#: gunicorn's client errors whose status is not 400, with their reason phrases.
_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (errors.LimitRequestLine, 414, "URI Too Long"),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (errors.ExpectationFailed, 417, "Expectation Failed"),
    (errors.UnsupportedTransferCoding, 501, "Not Implemented"),
    (errors.ForbiddenProxyRequest, 403, "Forbidden"),
)
#: Parse errors that are the application's or the configuration's fault, not the client's.
_SERVER_ERRORS = (
    errors.InvalidResponseHeader,
    errors.InvalidResponseHeaderName,
    errors.ConfigurationProblem,
)


def _closing(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Wrap the WSGI app: close the connection when the answer asks for it."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = app(environ, start_response)
        response = getattr(start_response, "__self__", None)
        if environ.get(CLOSE_CONNECTION) and hasattr(response, "force_close"):
            response.force_close()
        return body

    return wrapped


def error_answer(exc: Exception) -> tuple[int, str, bytes]:
    """Return the status, reason and JSON body gunicorn's error `exc` is answered with."""
    status, reason = 500, "Internal Server Error"
    if isinstance(exc, errors.ParseException) and not isinstance(exc, _SERVER_ERRORS):
        status, reason = 400, "Bad Request"
        for kind, kind_status, kind_reason in _STATUS:
            if isinstance(exc, kind):
                status, reason = kind_status, kind_reason
                break
    detail = reason.lower() if status == 500 else f"{reason.lower()}: {exc}"
    return status, reason, json.dumps({"detail": detail}).encode()


class JsonErrorThreadWorker(ThreadWorker):
    """gthread, with JSON error answers and closing on the middleware's request."""

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _closing(self.wsgi)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        status, reason, body = error_answer(exc)
        if status == 500:
            self.log.error("Error handling request", exc_info=exc)
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:  # noqa: BLE001 - the client may be gone; nothing left to tell it
            self.log.debug("Failed to send error message.")
