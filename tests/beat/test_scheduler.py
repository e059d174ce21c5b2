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
from django_celery_results.models import TaskResult

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


def _tasks(n, prefix="t", **fields):
    interval, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    return [
        PeriodicTask.objects.create(
            name=f"{prefix}{i}",
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


def _due_now(n, prefix="t"):
    """N schedules on one queue, each with a slot due a second ago (on time)."""
    last = datetime.now(UTC) - timedelta(seconds=61)
    tasks = _tasks(n, prefix, last_run_at=last)
    rows = PeriodicTask.objects.filter(pk__in=[t.pk for t in tasks]).order_by("pk")
    rows.update(queue=tasks[0].queue)
    return rows, last


#: Per-message values (ids, times, the schedule's name and slot); everything else in a
#: message depends only on the task, its options and the broker.
_UNIQUE = {"id", "root_id", "enqueued_at", "taskcenter_slot", "periodic_task_name"}


def _masked(raw: bytes) -> dict:
    message = json.loads(raw)
    message["headers"] = {k: v for k, v in message["headers"].items() if k not in _UNIQUE}
    for key in ("correlation_id", "delivery_tag"):
        message["properties"].pop(key)
    return message


def test_a_dispatch_batch_leaves_in_one_pipeline_as_the_messages_a_single_publish_writes(
    scheduler, monkeypatch
):
    from kombu.transport import redis as kombu_redis

    # given three schedules due now on one queue
    tasks, _ = _due_now(3)
    queue = tasks[0].queue
    flushes = []
    flush = kombu_redis.PublishBatch.flush

    def counting_flush(self):
        flushes.append(self._buffered)
        return flush(self)

    monkeypatch.setattr(kombu_redis.PublishBatch, "flush", counting_flush)
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        # when beat dispatches them
        scheduler._load_all()
        scheduler._dispatch_due()
        batched = client.lrange(queue, 0, -1)
        # and one more is dispatched with batching off (one publish per message)
        client.delete(queue)
        (single_task,), _ = _due_now(1, prefix="single")
        PeriodicTask.objects.filter(pk=single_task.pk).update(queue=queue)
        monkeypatch.setattr(kombu_redis.Channel, "supports_batch_publish", False)
        scheduler._load_all()
        scheduler._dispatch_due()
        single = client.lrange(queue, 0, -1)
    finally:
        drop_queue(client, queue)

    # then the three went out in one pipeline, the same messages as a single publish
    assert flushes == [3]
    assert len(batched) == 3
    assert len(single) == 1
    assert all(_masked(raw) == _masked(single[0]) for raw in batched)
    sent = [json.loads(raw)["headers"] for raw in batched]
    assert {h["periodic_task_name"] for h in sent} == {t.name for t in tasks}
    assert all(h["enqueued_at"] and h["taskcenter_slot"] for h in sent)
    # and each has its PENDING row
    rows = TaskResult.objects.filter(task_id__in=[h["id"] for h in sent])
    assert sorted(rows.values_list("status", "periodic_task_name")) == sorted(
        ("PENDING", t.name) for t in tasks
    )


def test_a_batch_the_broker_fails_is_reverted_whole_and_leaves_no_pending_rows(
    scheduler, monkeypatch
):
    from kombu.exceptions import BatchPublishError
    from kombu.transport import redis as kombu_redis

    # given three schedules due now, and a broker that fails the batch's pipeline
    tasks, last = _due_now(3)

    def failing_flush(self):
        self.pipeline.reset()
        raise BatchPublishError("Redis publish batch failed; delivery is uncertain")

    monkeypatch.setattr(kombu_redis.PublishBatch, "flush", failing_flush)
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        # when beat dispatches them
        scheduler._load_all()
        scheduler._dispatch_due()
        queued = client.llen(tasks[0].queue)
    finally:
        drop_queue(client, tasks[0].queue)

    # then no slot counts as sent: claims reverted, failures recorded, no PENDING rows
    assert queued == 0
    assert [(t.last_run_at, t.total_run_count) for t in tasks] == [(last, 0)] * 3
    events = ScheduleEvent.objects.filter(periodic_task__in=tasks)
    assert sorted(events.values_list("kind", "outcome")) == [("missed", "pending")] * 3
    assert not TaskResult.objects.filter(periodic_task_name__in=[t.name for t in tasks]).exists()
    assert all(scheduler._entries[t.pk].pending for t in tasks)
