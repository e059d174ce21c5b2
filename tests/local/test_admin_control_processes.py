"""The admin controls the real run_apscheduler: pause, resume, run now, trigger override."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

import tests.local.jobs  # noqa: F401  (the test jobs, in this process's catalog too)
from taskcenter.models import LocalJobRun, LocalJobState
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TICK = "tests.local.tick"
#: The issue's budget for the leader to apply an admin action.
APPLY_BUDGET = 2.0


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def operator() -> Client:
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=[
                "view_localjobstate",
                "pause_localjob",
                "run_localjob_now",
                "override_localjob_trigger",
            ]
        )
    )
    client = Client()
    client.force_login(user)
    return client


def act(client: Client, action: str, job: str = TICK) -> None:
    url = reverse("admin:taskcenter_localjobstate_changelist")
    response = client.post(url, {"action": action, "_selected_action": [job]})
    assert response.status_code == 302, response.content[:500]


def started_after(moment: float) -> list[LocalJobRun]:
    return [
        run
        for run in LocalJobRun.objects.filter(job=TICK, started_at__isnull=False)
        if run.started_at.timestamp() > moment
    ]


def test_pause_from_the_admin_stops_the_job_within_2s_and_resume_restarts_it(schedulers, operator):
    schedulers.start_leader(TICK)
    wait_for(lambda: started_after(0), timeout=30, what="a first run")

    act(operator, "pause_jobs")
    paused_at = time.time()
    quiet_from = paused_at + APPLY_BUDGET
    wait_for(lambda: time.time() > quiet_from + 3, timeout=10, what="three quiet seconds")
    assert LocalJobState.objects.get(job=TICK).paused
    assert not started_after(quiet_from), "runs started more than 2 s after the pause"

    act(operator, "resume_jobs")
    resumed_at = time.time()
    wait_for(lambda: started_after(resumed_at), timeout=10, what="a run after resume")


def test_run_now_runs_the_job_once_and_leaves_a_trigger_override_alone(schedulers, operator):
    # given an override (set in the admin before the process starts) that fires hourly
    page = reverse("admin:taskcenter_localjobstate_change", args=[TICK])
    operator.get(reverse("admin:taskcenter_localjobstate_changelist"))  # creates the rows
    response = operator.post(page, {"kind": "interval", "every": 1, "period": "hours"})
    assert response.status_code == 302, response.content[:2000]
    schedulers.start_leader(TICK)

    requested = time.time()
    act(operator, "run_jobs_now")
    run = wait_for(
        lambda: LocalJobRun.objects.filter(job=TICK).first(), timeout=10, what="the run-now run"
    )
    wait_for(
        lambda: LocalJobState.objects.get(job=TICK).run_now_requested_at is None,
        timeout=10,
        what="the request cleared",
    )
    quiet_until = time.time() + 2
    wait_for(lambda: time.time() > quiet_until, timeout=5)

    assert run.scheduled_at is None
    assert run.started_at.timestamp() - requested < APPLY_BUDGET + 1
    assert LocalJobRun.objects.filter(job=TICK).count() == 1
    assert LocalJobState.objects.get(job=TICK).trigger_override == {
        "interval": {"every": 1, "period": "hours"}
    }

    # when the override is reset, the code's one-second trigger is back
    act(operator, "reset_triggers")
    reset_at = time.time()
    wait_for(lambda: len(started_after(reset_at)) >= 2, timeout=15, what="runs every second")
    assert LocalJobState.objects.get(job=TICK).trigger_override is None
