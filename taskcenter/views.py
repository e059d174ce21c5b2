"""Plain Django views (the JSON API lives in `taskcenter.api`)."""

from pathlib import Path

from django.db import connection
from django.http import FileResponse, HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

#: The icon browsers ask for at /favicon.ico on every page (also a static file).
FAVICON = Path(__file__).resolve().parent / "static" / "taskcenter" / "favicon.ico"
#: A day: the icon rarely changes, and a browser asks for it with every page otherwise.
FAVICON_MAX_AGE = 24 * 3600


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database answers; used by the run command and containers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True})


@require_GET
def favicon(request: HttpRequest) -> FileResponse:
    """Serve the task center's icon at the path browsers ask for it."""
    response = FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
    response["Cache-Control"] = f"public, max-age={FAVICON_MAX_AGE}"
    return response
