"""URL routes: the admin, the API and a health check."""

from django.contrib import admin
from django.urls import path

from taskcenter.api import api
from taskcenter.views import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health", health, name="health"),
]
