"""Users with different schedule permissions, a schedule to work on, a headless browser."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from taskcenter.services.schedules import schedule_create
from tests.browser import browser  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Render admin pages without `collectstatic`: the manifest storage needs its manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _user(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(db) -> User:
    """May look at schedules and results, nothing else."""
    return _user("viewer", "view_periodictask", "view_taskresult")


@pytest.fixture
def runner(db) -> User:
    """May look at schedules and run them now, but not change them."""
    return _user("runner", "view_periodictask", "view_taskresult", "run_periodictask_now")


@pytest.fixture
def client_for():
    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def report_schedule(admin_user):
    """An enabled interval schedule of the report job (every 300 s)."""
    return schedule_create(
        user=admin_user,
        data={
            "name": "hourly report",
            "job": "jobs.reports.build_report",
            "kwargs": {"since_hours": 1},
            "interval": {"every": 300, "period": "seconds"},
        },
    )
