"""`/api/schedules` through real HTTP: the schedule services, their validation and audit."""

import pytest
from django_celery_beat.models import PeriodicTask

from taskcenter.models import Run, ScheduleChange
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

PERMS = tuple(f"django_celery_beat.{a}_periodictask" for a in ("view", "add", "change", "delete"))
RUN_NOW = "taskcenter.run_periodictask_now"
EVERY_MINUTE = {
    "name": "sum every minute",
    "job": "jobs.demo.add",
    "kwargs": {"x": 1, "y": 2},
    "interval": {"every": 60, "period": "seconds"},
}


@pytest.fixture
def editor(make_user, token_for):
    user = make_user(jobs=("jobs.demo.add",), perms=(*PERMS, RUN_NOW))
    return user, token_for(user)


def test_create_read_update_delete_a_schedule_with_an_audit_trail(http, editor):
    user, token = editor

    created = http.post("/api/schedules", EVERY_MINUTE, token=token)
    assert created.status == 201, created.body
    schedule_id = created.body["id"]
    assert created.body["schedule"] == "every 60 seconds"
    listed = http.get("/api/schedules", token=token).body["items"]
    assert [s["name"] for s in listed] == ["sum every minute"]

    patched = http.request(
        "PATCH",
        f"/api/schedules/{schedule_id}",
        {"crontab": {"minute": "*/5"}, "description": "now cron"},
        token=token,
    )
    assert patched.status == 200, patched.body
    assert patched.body["description"] == "now cron"
    assert PeriodicTask.objects.get(pk=schedule_id).crontab.minute == "*/5"

    assert http.request("DELETE", f"/api/schedules/{schedule_id}", token=token).status == 204
    assert http.get(f"/api/schedules/{schedule_id}", token=token).status == 404
    actions = list(ScheduleChange.objects.filter(user=user).values_list("action", flat=True))
    assert sorted(actions) == ["create", "delete", "update"]


def test_invalid_schedules_are_422_with_field_errors(http, editor):
    _, token = editor
    bad_args = {**EVERY_MINUTE, "kwargs": {"x": "one", "y": 2}}
    two_kinds = {**EVERY_MINUTE, "crontab": {"minute": "0"}}
    bad_cron = {**EVERY_MINUTE, "interval": None, "crontab": {"minute": "61"}}
    not_catalog = {**EVERY_MINUTE, "job": "celery.backend_cleanup"}

    answers = [
        http.post("/api/schedules", body, token=token)
        for body in (bad_args, two_kinds, bad_cron, not_catalog)
    ]

    assert [a.status for a in answers] == [422, 422, 422, 422]
    assert "kwargs" in answers[0].body["errors"]
    assert "schedule" in answers[1].body["errors"]
    assert "crontab.minute" in answers[2].body["errors"]
    assert "job" in answers[3].body["errors"]
    assert not PeriodicTask.objects.filter(name="sum every minute").exists()


def test_pause_and_resume(http, editor):
    _, token = editor
    schedule_id = http.post("/api/schedules", EVERY_MINUTE, token=token).body["id"]

    paused = http.post(
        f"/api/schedules/{schedule_id}/pause", {"until": "2099-01-01T00:00:00Z"}, token=token
    )
    past = http.post(
        f"/api/schedules/{schedule_id}/pause", {"until": "2000-01-01T00:00:00Z"}, token=token
    )
    resumed = http.post(f"/api/schedules/{schedule_id}/resume", token=token)

    assert paused.status == 200
    assert paused.body["enabled"] is False
    assert paused.body["paused_until"].startswith("2099-01-01")
    assert past.status == 422
    assert "until" in past.body["errors"]
    assert resumed.body["enabled"] is True
    assert resumed.body["paused_until"] is None


def test_schedules_need_the_beat_permissions(http, make_user, token_for, editor):
    _, owner_token = editor
    schedule_id = http.post("/api/schedules", EVERY_MINUTE, token=owner_token).body["id"]
    reader = token_for(make_user(perms=("django_celery_beat.view_periodictask",)))

    assert http.get(f"/api/schedules/{schedule_id}", token=reader).status == 200
    assert http.post("/api/schedules", {**EVERY_MINUTE, "name": "x"}, token=reader).status == 403
    assert http.post(f"/api/schedules/{schedule_id}/pause", {}, token=reader).status == 403
    assert http.request("DELETE", f"/api/schedules/{schedule_id}", token=reader).status == 403


def test_run_now_needs_the_run_now_and_the_jobs_trigger_permissions(
    http, make_user, token_for, editor
):
    _, owner_token = editor
    schedule_id = http.post("/api/schedules", EVERY_MINUTE, token=owner_token).body["id"]
    no_job = token_for(make_user(perms=(*PERMS, RUN_NOW)))
    no_run_now = token_for(make_user(jobs=("jobs.demo.add",), perms=PERMS))
    url = f"/api/schedules/{schedule_id}/run-now"

    assert http.post(url, {}, token=no_job).status == 403
    assert http.post(url, {}, token=no_run_now).status == 403


@pytest.mark.services
@pytest.mark.worker
def test_run_now_runs_the_job_once_and_its_status_is_known(http, editor, celery_worker):
    _, token = editor
    schedule_id = http.post("/api/schedules", EVERY_MINUTE, token=token).body["id"]

    answer = http.post(
        f"/api/schedules/{schedule_id}/run-now", {"kwargs": {"x": 20, "y": 22}}, token=token
    )

    assert answer.status == 202, answer.body
    assert Run.objects.filter(id=answer.body["id"]).exists()
    done = wait_for(
        lambda: (
            (b := http.get(answer.body["status_url"], token=token).body)["state"] == "SUCCESS" and b
        ),
        timeout=30,
        what="SUCCESS",
    )
    assert done["result"] == 42
    assert PeriodicTask.objects.get(pk=schedule_id).total_run_count == 0
