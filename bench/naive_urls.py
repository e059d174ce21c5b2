"""The project's routes plus the naive trigger endpoint under /naive/ (bench only)."""

from django.urls import path

from bench.naive_api import api
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("naive/", api.urls)]
