"""URL routes: the admin, the API, a health check and the icon."""

from django.contrib import admin
from django.urls import path

from taskcenter.api import api
from taskcenter.views import favicon, health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health", health, name="health"),
    path("favicon.ico", favicon, name="favicon"),
]
