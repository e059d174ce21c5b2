"""Plain Django views (the JSON API lives in `taskcenter.api`): probes and metrics."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from taskcenter.monitoring.metrics import metrics_access, metrics_render
from taskcenter.monitoring.probes import readiness_check


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database answers; kept for existing probes (see `readyz`)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True})


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
