"""SlotSender on its own: what it is given is all it uses, its broker pause is its own state."""

import functools
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test.utils import override_settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from taskcenter.beat.heap import DueHeap
from taskcenter.beat.scheduler import TaskcenterScheduler
from taskcenter.beat.sender import SlotSender
from taskcenter.beat.slots import plan
from taskcenter.models import ScheduleEvent
from tests.servers import free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def scheduler():
    from config.celery import app

    with override_settings(TASKCENTER_BEAT_LEASE_KEY=f"test:beat:{uuid.uuid4().hex[:8]}"):
        sched = TaskcenterScheduler(app=app, lazy=True)
    assert sched.lease.refresh()
    yield sched
    sched.close()


@pytest.fixture
def dead_broker():
    """A producer for a Redis port nothing listens on."""
    from config.celery import app

    with app.connection_for_write(f"redis://127.0.0.1:{free_port()}/0") as conn:
        yield app.amqp.Producer(conn, auto_declare=False)


def _claimed(scheduler, n):
    """N schedules with a slot due now, loaded and claimed as the scheduler would."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    last = datetime.now(UTC) - timedelta(seconds=61)
    for i in range(n):
        PeriodicTask.objects.create(
            name=f"sender{i}",
            task="tests.beat.noop",
            interval=interval,
            queue=f"beat-unit-{uuid.uuid4().hex[:6]}",
            last_run_at=last,
        )
    scheduler._load_all()
    to_send, now = [], datetime.now(UTC)
    for entry in scheduler._entries.values():
        decision = plan(
            entry.schedule, entry.last_run_at, now=now, grace=10.0, catch_up="run_once", deadline=0
        )
        to_send.append((entry, decision, (entry.last_run_at, entry.model.total_run_count)))
        entry.last_run_at = entry.model.last_run_at = decision.last_run_at
    return to_send, last


def test_a_refused_publish_pauses_the_rest_of_the_batch_and_retries_each_slot(
    scheduler, dead_broker
):
    # given two claimed slots, and a sender built only from a lease, a publish and a heap
    to_send, last = _claimed(scheduler, 2)
    tries = []
    apply = functools.partial(scheduler.apply_async, advance=False)

    def publish(entry, producer):
        tries.append(entry.name)
        return apply(entry, producer)

    heap = DueHeap()
    sender = SlotSender(lease=scheduler.lease, publish=publish, push=heap.push)

    # when the broker refuses the first publish
    started = time.time()
    reverted = sender.send_all(to_send, producer=dead_broker)

    # then the second is not tried, both claims are reverted and due again in a second
    assert len(tries) == 1
    assert sorted(m.pk for m in reverted) == sorted(e.model.pk for e, *_ in to_send)
    assert all(e.last_run_at == last and e.pending for e, *_ in to_send)
    assert started + 0.9 <= heap.next_at() <= time.time() + 1.1
    due = heap.pop_due(scheduler._entries, now=time.time() + 2, limit=10)
    assert {e.model.pk for e in due} == {e.model.pk for e, *_ in to_send}
    events = ScheduleEvent.objects.filter(periodic_task__in=[e.model.pk for e, *_ in to_send])
    assert sorted(events.values_list("kind", "outcome")) == [("missed", "pending")] * 2

    # and the pause is the sender's own: until reset, nothing is tried; after, it tries again
    sender.send_all(to_send[:1], producer=dead_broker)
    assert len(tries) == 1
    sender.reset()
    sender.send_all(to_send[:1], producer=dead_broker)
    assert len(tries) == 2
