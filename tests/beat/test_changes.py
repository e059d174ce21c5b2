"""The trigger-fed change feed: every kind of write is seen, beat's own bookkeeping is not."""

import json

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from taskcenter.beat.changes import ChangeFeed
from taskcenter.models import ScheduleSettings

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def task():
    interval = IntervalSchedule.objects.create(every=5, period="seconds")
    return PeriodicTask.objects.create(name="feed", task="tests.beat.noop", interval=interval)


@pytest.fixture
def feed(task):
    feed = ChangeFeed()
    feed.start()
    return feed


def test_queryset_update_and_raw_sql_are_in_the_feed(task, feed):
    PeriodicTask.objects.filter(pk=task.pk).update(kwargs=json.dumps({"a": 1}))
    assert feed.poll().task_ids == {task.pk}

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE django_celery_beat_periodictask SET enabled = 0 WHERE id = %s", [task.pk]
        )
    assert feed.poll().task_ids == {task.pk}


def test_beats_own_last_run_writes_are_not_a_change(task, feed):
    PeriodicTask.objects.filter(pk=task.pk).update(
        last_run_at=timezone.now(), total_run_count=7, date_changed=timezone.now()
    )

    assert feed.poll().task_ids == set()


def test_schedule_row_and_settings_changes_name_the_tasks_using_them(task, feed):
    other = PeriodicTask.objects.create(name="other", task="x", interval=task.interval)
    feed.poll()

    IntervalSchedule.objects.filter(pk=task.interval_id).update(every=9)
    assert feed.poll().task_ids == {task.pk, other.pk}

    ScheduleSettings.objects.create(periodic_task=task, overlap="skip")
    assert feed.poll().task_ids == {task.pk}


def test_created_and_deleted_tasks_are_in_the_feed(feed):
    cron = CrontabSchedule.objects.create(minute="5")
    created = PeriodicTask.objects.create(name="new", task="x", crontab=cron)
    assert created.pk in feed.poll().task_ids

    pk = created.pk
    PeriodicTask.objects.filter(pk=pk).delete()
    assert feed.poll().task_ids == {pk}
