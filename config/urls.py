"""URL routes: the admin, the API, health probes and the metrics."""

from django.contrib import admin
from django.urls import path

from taskcenter.api import api
from taskcenter.views import health, healthz, metrics, readyz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health", health, name="health"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]
