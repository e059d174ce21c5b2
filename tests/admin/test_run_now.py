"""Run now: a real worker runs it, it is recorded and linked, the schedule's timing stays."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from taskcenter.models import ScheduleChange
from tests.conftest import wait_for

RUN_NOW = "admin:taskcenter_schedule_run_now"


def _timing(task: PeriodicTask) -> tuple:
    task.refresh_from_db()
    return task.last_run_at, task.total_run_count, task.date_changed


@pytest.mark.services
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_run_now_with_form_arguments_runs_records_links_and_leaves_timing_alone(
    celery_worker, client_for, runner, report_schedule
):
    PeriodicTask.objects.filter(pk=report_schedule.pk).update(
        last_run_at=timezone.now(), total_run_count=7
    )
    timing = _timing(report_schedule)
    client = client_for(runner)

    response = client.post(
        reverse(RUN_NOW, args=[report_schedule.pk]),
        {"args": "[]", "kwargs": '{"since_hours": 5, "fmt": "csv"}'},
        follow=True,
    )

    change = ScheduleChange.objects.get(action="run_now")
    assert change.user == runner
    assert change.changes == {"args": [], "kwargs": {"since_hours": 5, "fmt": "csv"}}
    message = " ".join(str(m) for m in response.context["messages"])
    assert change.task_id in message
    assert "?q=" + change.task_id in message
    row = wait_for(
        lambda: TaskResult.objects.filter(task_id=change.task_id, status="SUCCESS").first(),
        timeout=30,
        what="the run-now result",
    )
    assert row.periodic_task_name == "hourly report"
    assert row.worker == celery_worker
    assert json.loads(row.result)["path"].endswith(".csv")
    assert row.date_started is not None
    assert row.date_created <= row.date_started
    assert _timing(report_schedule) == timing


@pytest.mark.services
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_run_now_action_runs_with_the_stored_arguments(
    celery_worker, client_for, runner, report_schedule
):
    client = client_for(runner)
    changelist = reverse("admin:django_celery_beat_periodictask_changelist")

    client.post(
        changelist, {"action": "run_schedules_now", "_selected_action": [report_schedule.pk]}
    )

    change = ScheduleChange.objects.get(action="run_now")
    assert change.changes["kwargs"] == {"since_hours": 1}
    row = wait_for(
        lambda: TaskResult.objects.filter(task_id=change.task_id, status="SUCCESS").first(),
        timeout=30,
        what="the run-now result",
    )
    assert "since_hours" in row.task_kwargs


@pytest.mark.django_db
def test_a_viewer_cannot_run_now_nor_see_the_button_or_action(client_for, viewer, report_schedule):
    client = client_for(viewer)
    change_url = reverse("admin:django_celery_beat_periodictask_change", args=[report_schedule.pk])

    page = client.get(change_url)
    refused = client.post(
        reverse(RUN_NOW, args=[report_schedule.pk]), {"args": "[]", "kwargs": "{}"}
    )
    listing = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))

    assert page.status_code == 200
    assert b'id="run-now"' not in page.content
    assert refused.status_code == 403
    action_form = listing.context["action_form"]
    actions = [name for name, _ in action_form.fields["action"].choices] if action_form else []
    assert "run_schedules_now" not in actions
    assert not ScheduleChange.objects.filter(action="run_now").exists()


@pytest.mark.django_db
def test_a_runner_cannot_edit_the_schedule(client_for, runner, report_schedule):
    client = client_for(runner)
    url = reverse("admin:django_celery_beat_periodictask_change", args=[report_schedule.pk])

    response = client.post(url, {"name": "renamed"})

    assert response.status_code == 403
    assert PeriodicTask.objects.get(pk=report_schedule.pk).name == "hourly report"


@pytest.mark.django_db
def test_run_now_form_rejects_arguments_that_do_not_fit(client_for, runner, report_schedule):
    response = client_for(runner).post(
        reverse(RUN_NOW, args=[report_schedule.pk]),
        {"args": "[]", "kwargs": '{"since_hours": "x"}'},
    )

    assert response.status_code == 200
    assert "kwargs" in response.context["form"].errors
    assert not ScheduleChange.objects.filter(action="run_now").exists()
