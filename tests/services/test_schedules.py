"""The schedule services: the contract the admin and the API share."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from taskcenter.models import ScheduleChange, ScheduleSettings
from taskcenter.services import schedules as svc

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice")


def make(user, **data):
    base = {
        "name": "report",
        "job": "jobs.reports.build_report",
        "kwargs": {"since_hours": 3},
        "interval": {"every": 60, "period": "seconds"},
    }
    return svc.schedule_create(user=user, data={**base, **data})


def test_create_validates_everything_at_once_with_field_keyed_errors(alice):
    with pytest.raises(ValidationError) as caught:
        svc.schedule_create(
            user=alice,
            data={
                "name": "",
                "job": "jobs.reports.build_report",
                "kwargs": {"since_hours": "x"},
                "crontab": {"minute": "99"},
                "queue": "nowhere",
            },
        )

    errors = caught.value.message_dict
    assert set(errors) == {"name", "kwargs", "crontab.minute", "queue"}
    assert not PeriodicTask.objects.exists()


def test_create_needs_exactly_one_schedule(alice):
    with pytest.raises(ValidationError) as caught:
        make(alice, crontab={"minute": "0"})

    assert "schedule" in caught.value.message_dict


def test_identical_schedules_share_one_schedule_row(alice):
    first = make(alice, name="a")
    second = make(alice, name="b")

    assert first.interval_id == second.interval_id


def test_update_changes_only_given_keys_and_records_old_and_new(alice):
    task = make(alice)

    svc.schedule_update(
        user=alice,
        task=task,
        data={"crontab": {"minute": "5", "hour": "4", "timezone": "Europe/Berlin"}},
    )

    task.refresh_from_db()
    assert task.interval is None
    assert task.crontab.hour == "4"
    assert str(task.crontab.timezone) == "Europe/Berlin"
    change = ScheduleChange.objects.filter(action="update").get()
    assert set(change.changes) == {"schedule"}
    assert "Europe/Berlin" in change.changes["schedule"][1]


def test_pause_disables_and_records_until_and_resume_undoes_it(alice):
    task = make(alice)
    until = timezone.now() + timedelta(hours=1)

    svc.schedule_pause(user=alice, task=task, until=until)
    task.refresh_from_db()
    assert not task.enabled
    assert ScheduleSettings.objects.get(periodic_task=task).paused_until == until

    svc.schedule_resume(user=alice, task=task)
    task.refresh_from_db()
    assert task.enabled
    assert ScheduleSettings.objects.get(periodic_task=task).paused_until is None
    assert list(
        ScheduleChange.objects.filter(periodic_task=task).values_list("action", flat=True)
    ) == ["resume", "pause", "create"]


def test_pause_until_a_past_time_is_refused(alice):
    task = make(alice)

    with pytest.raises(ValidationError):
        svc.schedule_pause(user=alice, task=task, until=timezone.now() - timedelta(seconds=1))


def test_resume_due_resumes_only_expired_pauses_as_the_system(alice):
    due, later = make(alice, name="due"), make(alice, name="later")
    svc.schedule_pause(user=alice, task=due, until=timezone.now() + timedelta(seconds=30))
    svc.schedule_pause(user=alice, task=later, until=timezone.now() + timedelta(hours=1))

    resumed = svc.schedules_resume_due(now=timezone.now() + timedelta(minutes=1))

    assert resumed == ["due"]
    assert PeriodicTask.objects.get(name="due").enabled
    assert not PeriodicTask.objects.get(name="later").enabled
    resume = ScheduleChange.objects.get(schedule_name="due", action="resume")
    assert resume.user is None
    assert str(resume).endswith("by system")


def test_bulk_enable_audits_each_schedule_and_tells_beat(alice):
    tasks = [make(alice, name=f"t{i}", enabled=False) for i in range(3)]
    before = PeriodicTasks.last_change()

    count = svc.schedules_set_enabled(user=alice, tasks=tasks, enabled=True)

    assert count == 3
    assert PeriodicTask.objects.filter(enabled=True).count() == 3
    assert ScheduleChange.objects.filter(action="enable").count() == 3
    assert PeriodicTasks.last_change() > before


def test_delete_keeps_the_history_under_the_schedule_name(alice):
    task = make(alice)

    svc.schedule_delete(user=alice, task=task)

    assert not PeriodicTask.objects.exists()
    actions = ScheduleChange.objects.filter(schedule_name="report").values_list("action", flat=True)
    assert list(actions) == ["delete", "create"]


def test_run_now_refuses_arguments_that_do_not_fit(alice):
    task = make(alice)

    with pytest.raises(ValidationError) as caught:
        svc.schedule_run_now(user=alice, task=task, kwargs={"since_hours": "soon"})

    assert "kwargs" in caught.value.message_dict
    assert not ScheduleChange.objects.filter(action="run_now").exists()


def test_run_now_that_cannot_reach_the_broker_fails_loudly_and_marks_its_row(
    alice, settings, django_capture_on_commit_callbacks
):
    from django_celery_results.models import TaskResult
    from kombu.exceptions import OperationalError

    from config.celery import app

    task = make(alice)
    # Given a broker URL nothing listens on (port 1), with the connection pools rebuilt
    # by Celery's own after-fork reset
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._after_fork()
    try:
        with pytest.raises(OperationalError), django_capture_on_commit_callbacks(execute=True):
            svc.schedule_run_now(user=alice, task=task)
    finally:
        app.conf.broker_url = settings.CELERY_BROKER_URL
        app._after_fork()

    row = TaskResult.objects.get(periodic_task_name="report")
    assert row.status == "FAILURE"
    assert "not sent to the broker" in row.traceback


def test_run_now_is_sent_after_commit_and_shows_as_pending_once_sent(
    alice, django_capture_on_commit_callbacks
):
    from django_celery_results.models import TaskResult

    task = make(alice)

    with django_capture_on_commit_callbacks(execute=False) as sends:
        task_id = svc.schedule_run_now(user=alice, task=task)
    assert not TaskResult.objects.filter(task_id=task_id).exists()  # nothing sent yet
    assert len(sends) == 1  # the publish waits for the commit
    sends[0]()

    row = TaskResult.objects.get(task_id=task_id)  # written as the message left
    assert row.periodic_task_name == "report"
    # PENDING until a worker takes it (the suite's shared worker may already have).
    assert row.status in ("PENDING", "STARTED", "SUCCESS")
    assert ScheduleChange.objects.get(action="run_now").task_id == task_id
