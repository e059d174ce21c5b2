"""Request checks that belong before any view, and JSON for every error under `/api/`.

A body the API refuses unread (chunked, too large, form-encoded) is answered at once and
the connection marked for closing, so a kept-alive client's next request never lands in
the middle of an unread body.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

#: WSGI environ key the web server's worker (taskcenter.gunicorn_worker) reads to close
#: the connection after the answer; Django's own server closes it when the body is unread.
CLOSE_CONNECTION = "taskcenter.close_connection"
#: Path prefix of the API: everything under it answers JSON, errors included.
API_PREFIX = "/api/"
#: A refused body up to this size is read and thrown away before answering, so the client
#: has finished sending when the answer arrives; above it the connection is just closed.
DRAIN_LIMIT = 8 * 1024 * 1024
#: Content types Django parses into `request.POST` (and whose parser raises on bad input).
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_CHUNK = 64 * 1024


def _drain(request: HttpRequest, *, chunked: bool) -> None:
    """Read and discard the request body (bounded by DRAIN_LIMIT)."""
    if chunked:
        # Only a server that decodes chunked input and marks its end can be read to EOF.
        if not request.META.get("wsgi.input_terminated"):
            return
        stream = request.META["wsgi.input"]
    else:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > DRAIN_LIMIT:
            return
        # Django's LimitedStream stops at Content-Length; the raw input may not.
        stream = request._stream  # noqa: SLF001
    read = 0
    while read <= DRAIN_LIMIT:
        data = stream.read(_CHUNK)
        if not data:
            return
        read += len(data)


def _refuse(request: HttpRequest, status: int, detail: str, *, chunked: bool) -> JsonResponse:
    _drain(request, chunked=chunked)
    request.META[CLOSE_CONNECTION] = True
    return JsonResponse({"detail": detail}, status=status)


class BodyGuardMiddleware:
    """Answer 411 to a chunked body, 413 to one over the limit, 415 to a form under /api/.

    Why: Django reads a request body by its Content-Length, so under WSGI a chunked body
    reaches the view as no body at all; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is never
    read; and a form body makes Django's CSRF check parse it (a multipart body without a
    boundary raises there). Each is answered before any of it is half-read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _refuse(
                request,
                411,
                _("send the request body with a Content-Length header, not chunked"),
                chunked=True,
            )
        if request.path.startswith(API_PREFIX):
            try:
                length = int(meta.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and length > limit:
                detail = _("request body too large (limit %(limit)s bytes)") % {"limit": limit}
                return _refuse(request, 413, detail, chunked=False)
            media = meta.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
            if media in FORM_TYPES:
                detail = _("send the request body as JSON (Content-Type: application/json)")
                return _refuse(request, 415, detail, chunked=False)
        return self.get_response(request)


class ApiJsonErrorsMiddleware:
    """Turn every non-JSON error answer under `/api/` into `{"detail": ...}` JSON.

    Why: a path the API router never sees (an encoded slash in an id, a name Django's URL
    patterns refuse) gets Django's HTML 404, and a wrong method its empty 405; an API
    client must be able to parse every answer it gets.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        answer = JsonResponse(
            {"detail": _status_text(response.status_code)}, status=response.status_code
        )
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                answer[header] = response[header]
        return answer


def _status_text(status: int) -> str:
    texts = {
        400: _("bad request"),
        403: _("forbidden"),
        404: _("not found"),
        405: _("method not allowed"),
        500: _("internal error"),
    }
    if status in texts:
        return texts[status]
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return _("error")
