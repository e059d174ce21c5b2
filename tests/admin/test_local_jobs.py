"""The "Local jobs" admin: every catalog local job listed, actions by permission, audited."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from taskcenter.catalog import Runtime, all_jobs
from taskcenter.models import LocalJobRun, LocalJobState, ProcessHeartbeat

pytestmark = pytest.mark.django_db

JOB = "jobs.schedules.resume_paused"
LIST = "admin:taskcenter_localjobstate_changelist"


def client_with(*codenames: str, username: str = "ops") -> Client:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_list_shows_every_local_job_with_trigger_last_run_and_success_rate():
    LocalJobRun.objects.create(job=JOB, outcome="success", duration=0.25)
    LocalJobRun.objects.create(job=JOB, outcome="failed", duration=1.5, error="boom")
    client = client_with("view_localjobstate")

    page = client.get(reverse(LIST)).content.decode()

    for job in all_jobs(Runtime.LOCAL):
        assert job.name in page
    assert "every 15 seconds" in page
    assert "50% of 2" in page
    assert "1.500 s" in page
    assert f"?job={JOB}" in page


def test_pause_needs_its_permission_and_is_audited_with_the_user():
    LocalJobState.objects.create(job=JOB)
    viewer = client_with("view_localjobstate", username="viewer")
    pauser = client_with("view_localjobstate", "pause_localjob", username="pauser")
    data = {"action": "pause_jobs", "_selected_action": [JOB]}

    viewer.post(reverse(LIST), data)
    assert not LocalJobState.objects.get(job=JOB).paused

    response = pauser.post(reverse(LIST), data)
    assert response.status_code == 302
    assert LocalJobState.objects.get(job=JOB).paused
    entry = LogEntry.objects.get(object_id=JOB)
    assert entry.user.username == "pauser"
    assert json.loads(entry.change_message)["action"] == "pause"


def test_run_now_needs_its_own_permission():
    LocalJobState.objects.create(job=JOB)
    pauser = client_with("view_localjobstate", "pause_localjob", username="pauser")
    runner = client_with("view_localjobstate", "run_localjob_now", username="runner")
    data = {"action": "run_jobs_now", "_selected_action": [JOB]}

    pauser.post(reverse(LIST), data)
    assert LocalJobState.objects.get(job=JOB).run_now_requested_at is None

    runner.post(reverse(LIST), data)
    assert LocalJobState.objects.get(job=JOB).run_now_requested_at is not None


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"kind": "cron", "cron": "61 * * * *"}, "Invalid cron field minute"),
        ({"kind": "cron", "cron": "* * *"}, "five fields"),
        ({"kind": "interval", "every": 0, "period": "seconds"}, "greater than or equal to 1"),
    ],
)
def test_a_bad_trigger_override_is_a_form_error_not_a_500(data, field_error):
    LocalJobState.objects.create(job=JOB)
    client = client_with("view_localjobstate", "override_localjob_trigger")

    response = client.post(reverse("admin:taskcenter_localjobstate_change", args=[JOB]), data)

    assert response.status_code == 200
    assert field_error in response.content.decode()
    assert LocalJobState.objects.get(job=JOB).trigger_override is None


def test_a_cron_override_is_stored_and_reset_puts_the_code_trigger_back():
    LocalJobState.objects.create(job=JOB)
    client = client_with("view_localjobstate", "override_localjob_trigger")
    page = reverse("admin:taskcenter_localjobstate_change", args=[JOB])

    client.post(page, {"kind": "cron", "cron": "*/5 * * * 1-5"})
    assert LocalJobState.objects.get(job=JOB).trigger_override == {"cron": "*/5 * * * 1-5"}
    assert "cron */5 * * * 1-5 (override)" in client.get(reverse(LIST)).content.decode()

    client.post(reverse(LIST), {"action": "reset_triggers", "_selected_action": [JOB]})
    assert LocalJobState.objects.get(job=JOB).trigger_override is None
    actions = [json.loads(e.change_message)["action"] for e in LogEntry.objects.order_by("id")]
    assert actions == ["override_trigger", "reset_trigger"]


def test_a_run_page_shows_its_error_and_traceback(admin_client):
    run = LocalJobRun.objects.create(
        job=JOB, outcome="failed", error="ValueError: bad", traceback='  File "x.py", line 1'
    )

    page = admin_client.get(reverse("admin:taskcenter_localjobrun_change", args=[run.pk]))

    assert "ValueError: bad" in page.content.decode()
    assert "x.py" in page.content.decode()


def test_admin_index_names_the_leading_run_apscheduler_and_its_standbys(admin_client):
    now = timezone.now()
    for ident, leads in (("apscheduler:a:1", True), ("apscheduler:b:2", False)):
        ProcessHeartbeat.objects.create(
            ident=ident,
            role=ProcessHeartbeat.Role.APSCHEDULER,
            hostname="h",
            pid=1,
            is_leader=leads,
            started_at=now,
            seen_at=now,
        )

    page = admin_client.get(reverse("admin:index")).content.decode()

    assert 'id="local-leader">apscheduler:a:1<' in page
    assert "apscheduler:b:2" in page


def test_admin_index_says_when_no_run_apscheduler_leads(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "no run_apscheduler is leading" in page


def test_a_viewer_sees_the_job_page_read_only():
    LocalJobState.objects.create(job=JOB)
    client = client_with("view_localjobstate")

    response = client.get(reverse("admin:taskcenter_localjobstate_change", args=[JOB]))

    assert response.status_code == 200
    assert "every 15 seconds" in response.content.decode()
    assert 'name="cron"' not in response.content.decode()
