"""Plain Django views (the JSON API lives in `taskcenter.api`): probes, metrics, the icon."""

from pathlib import Path

from django.db import connection
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from taskcenter.monitoring.metrics import metrics_access, metrics_render
from taskcenter.monitoring.probes import readiness_check

#: The icon browsers ask for at /favicon.ico on every page (also a static file).
FAVICON = Path(__file__).resolve().parent / "static" / "taskcenter" / "favicon.ico"
#: A day: the icon rarely changes, and a browser asks for it with every page otherwise.
FAVICON_MAX_AGE = 24 * 3600


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database answers; kept for existing probes (see `readyz`)."""
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


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process serves requests (liveness; touches nothing else)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and the broker answer, else 503 naming what failed."""
    outcome = readiness_check()
    body = {"status": "ok" if outcome.ok else "unavailable", "checks": outcome.checks}
    if not outcome.ok:
        body["failed"] = sorted(outcome.errors)
        body["errors"] = outcome.errors
    return JsonResponse(body, status=200 if outcome.ok else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Serve the Prometheus exposition, to a bearer token, a staff session or anyone when open."""
    status = metrics_access(request)
    if status == 401:
        response = JsonResponse(
            {"detail": _("A bearer token or a staff login is needed.")}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if status == 403:
        return JsonResponse({"detail": _("This user may not read the metrics.")}, status=403)
    body, content_type = metrics_render()
    return HttpResponse(body, content_type=content_type)
