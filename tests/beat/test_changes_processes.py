"""Real beat process: every kind of schedule change is honoured within 2 s."""

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from taskcenter.beat.status import change_applied_at
from taskcenter.models import ScheduleSettings
from tests.beat.conftest import ago, every, now
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

#: The promised budget from save to the first dispatch that honours it.
PICKUP = 2.0


def _first(outbox, name, since, predicate=lambda s: True):
    return wait_for(
        lambda: next((s for s in outbox.of(name) if s.seen >= since and predicate(s)), None),
        timeout=10,
        interval=0.05,
        what=f"a dispatch of {name}",
    )


def _quiet_after(outbox, names, since):
    """Let 3 s of 1 s slots pass (a control schedule keeps ticking), then list late sends."""
    wait_for(
        lambda: [s for s in outbox.of("control") if s.seen > since + PICKUP + 1.5],
        timeout=15,
        what="time to pass",
    )
    return [s for s in outbox.read() if s.name in names and s.slot.timestamp() > since + PICKUP]


def test_created_edited_paused_and_deleted_schedules_are_honoured_within_2s(outbox, beats):
    # given a leader running four 1 s schedules
    for name in ("control", "edit", "pause", "delete", "paused-until"):
        every(1, name=name, queue=outbox.queue)
    beats.start_leader()
    wait_for(
        lambda: {"edit", "pause", "delete", "paused-until"} <= {s.name for s in outbox.read()},
        timeout=20,
        what="every schedule dispatched once",
    )

    # when a schedule is created (already due), one edited, one paused, one deleted
    created_at = time.time()
    created = every(60, name="created", queue=outbox.queue, last_run_at=ago(60))
    first_created = _first(outbox, "created", created_at)

    edited_at = time.time()
    task = PeriodicTask.objects.get(name="edit")
    task.kwargs = json.dumps({"version": 2})
    task.save()
    first_edited = _first(outbox, "edit", edited_at, lambda s: s.kwargs == {"version": 2})

    paused_at = time.time()
    task = PeriodicTask.objects.get(name="pause")
    task.enabled = False
    task.save()
    PeriodicTask.objects.get(name="delete").delete()
    ScheduleSettings.objects.create(
        periodic_task=PeriodicTask.objects.get(name="paused-until"),
        paused_until=now() + timedelta(hours=1),
    )
    late = _quiet_after(outbox, {"pause", "delete", "paused-until"}, paused_at)

    # then each change is honoured within the budget, and beat says it picked them up
    assert first_created.seen - created_at < PICKUP
    assert first_edited.seen - edited_at < PICKUP
    assert late == []
    state = change_applied_at(task_id=created.pk)
    assert state.applied_at is not None
    assert (state.applied_at - state.changed_at).total_seconds() < PICKUP


def test_bulk_updates_and_raw_sql_reach_beat_within_2s(outbox, beats):
    # given five 1 s schedules on their own interval row, and a control
    every(1, name="control", queue=outbox.queue)
    own = IntervalSchedule.objects.create(every=1, period="seconds")
    names = [f"bulk-{i}" for i in range(5)]
    for name in names:
        PeriodicTask.objects.create(
            name=name, task="tests.beat.noop", interval=own, queue=outbox.queue
        )
    beats.start_leader()
    wait_for(
        lambda: set(names) <= {s.name for s in outbox.read()},
        timeout=20,
        what="each bulk schedule dispatched",
    )

    # when their kwargs change through QuerySet.update() (no signal, no date_changed)
    updated_at = time.time()
    PeriodicTask.objects.filter(name__in=names).update(kwargs=json.dumps({"bulk": True}))
    firsts = [_first(outbox, n, updated_at, lambda s: s.kwargs == {"bulk": True}) for n in names]

    # and their shared interval row changes to 3 s, also with update()
    IntervalSchedule.objects.filter(pk=own.pk).update(every=3)
    stretched_at = time.time()
    wait_for(
        lambda: len([s for s in outbox.of("bulk-0") if s.seen > stretched_at]) >= 3,
        timeout=20,
        what="three dispatches at the new interval",
    )
    steps = [
        b.slot - a.slot
        for a, b in zip(outbox.of("bulk-0"), outbox.of("bulk-0")[1:], strict=False)
        if a.seen > stretched_at + PICKUP
    ]

    # and raw SQL disables them
    disabled_at = time.time()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE django_celery_beat_periodictask SET enabled = 0 WHERE name LIKE 'bulk-%%'"
        )
    late = _quiet_after(outbox, set(names), disabled_at)

    # then beat honoured each within the budget
    assert max(first.seen for first in firsts) - updated_at < PICKUP
    assert steps
    assert set(steps) == {timedelta(seconds=3)}
    assert late == []
