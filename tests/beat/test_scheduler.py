"""TaskcenterScheduler in-process: incremental reloads and missed-slot records."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from taskcenter.beat.scheduler import TaskcenterScheduler
from taskcenter.models import ScheduleEvent
from tests.beat.conftest import drop_queue

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def scheduler():
    from config.celery import app

    with override_settings(TASKCENTER_BEAT_LEASE_KEY=f"test:beat:{uuid.uuid4().hex[:8]}"):
        sched = TaskcenterScheduler(app=app, lazy=True)
    assert sched.lease.refresh()
    sched._leader_since = datetime.now(UTC)
    yield sched
    sched.close()


def _tasks(n, **fields):
    interval, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    return [
        PeriodicTask.objects.create(
            name=f"t{i}",
            task="tests.beat.noop",
            interval=interval,
            queue=f"beat-unit-{uuid.uuid4().hex[:6]}",
            **fields,
        )
        for i in range(n)
    ]


def test_an_edit_to_one_schedule_reloads_only_that_row(scheduler):
    tasks = _tasks(30)
    scheduler._load_all()
    before = dict(scheduler._entries)

    PeriodicTask.objects.filter(pk=tasks[7].pk).update(kwargs=json.dumps({"v": 2}))
    with CaptureQueriesContext(connection) as queries:
        scheduler._apply_changes()

    loads = [
        q["sql"]
        for q in queries
        if "FROM `django_celery_beat_periodictask`" in q["sql"] and q["sql"].startswith("SELECT")
    ]
    assert len(loads) == 1
    assert f"IN ({tasks[7].pk})" in loads[0]
    assert scheduler._entries[tasks[7].pk].kwargs == {"v": 2}
    unchanged = [pk for pk in before if pk != tasks[7].pk]
    assert all(scheduler._entries[pk] is before[pk] for pk in unchanged)


def test_slots_missed_while_beat_was_down_are_recorded_and_run_once(scheduler):
    # given a 60 s schedule last run 200 s ago (beat was down for three slots)
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=200)
    (task,) = _tasks(1, last_run_at=last)

    # when beat dispatches
    scheduler._load_all()
    scheduler._dispatch_due()

    # then one run is sent, the missed slots recorded, and the latest slot stored
    event = ScheduleEvent.objects.get(periodic_task=task)
    assert (event.kind, event.outcome, event.slots) == ("missed", "ran_once", 3)
    assert event.slot == last + timedelta(seconds=60)
    task.refresh_from_db()
    assert task.last_run_at == last + timedelta(seconds=180)
    assert task.total_run_count == 1
    assert scheduler._entries[task.pk].last_task_id
    drop_queue(redis.Redis.from_url(settings.REDIS_URL), task.queue)
