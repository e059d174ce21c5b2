"""URL routes: the admin and its operations page, the API, health probes, metrics, the icon."""

from django.contrib import admin
from django.urls import path

from taskcenter.admin.operations import operations_view
from taskcenter.api import api
from taskcenter.views import favicon, health, healthz, metrics, readyz

urlpatterns = [
    path("admin/operations/", admin.site.admin_view(operations_view), name="operations"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health", health, name="health"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]
