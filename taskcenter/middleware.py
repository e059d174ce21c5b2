"""Request checks that belong before any view: a chunked body is refused, not read as empty."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class RefuseChunkedBodyMiddleware:
    """Answer 411 to a request that sends its body chunked (no Content-Length).

    Why: Django reads a request body by its Content-Length, so under WSGI (gunicorn,
    granian, the test server alike) a chunked body reaches the view as no body at all:
    a valid trigger would be answered "payload: Field required". Saying what to change
    is clearer, and nothing of the request is half-read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return JsonResponse(
                {"detail": "send the request body with a Content-Length header, not chunked"},
                status=411,
            )
        return self.get_response(request)
