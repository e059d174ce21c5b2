"""Selectors the admin shows: beat leader, missed runs, whether beat applied a change."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from taskcenter.beat import records
from taskcenter.beat.changes import ChangeFeed
from taskcenter.beat.status import (
    beat_leader_status,
    change_applied_at,
    missed_runs_recent,
    schedule_missed_runs,
)
from taskcenter.models import BeatInstance, ScheduleEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _instance(ident, *, leader, ticked_ago=0.0):
    now = timezone.now()
    return BeatInstance.objects.create(
        ident=ident,
        hostname="host",
        pid=1,
        is_leader=leader,
        started_at=now,
        leader_since=now if leader else None,
        last_tick_at=now - timedelta(seconds=ticked_ago),
    )


def test_leader_status_names_the_leader_its_last_tick_and_the_standbys():
    leader = _instance("host:1:a", leader=True)
    _instance("host:2:b", leader=False)

    status = beat_leader_status()

    assert (status.leader, status.last_tick_at, status.stale) == (
        leader.ident,
        leader.last_tick_at,
        False,
    )
    assert status.standbys == ["host:2:b"]


def test_leader_that_stopped_ticking_is_reported_stale_then_absent():
    _instance("host:1:a", leader=True, ticked_ago=20)

    assert beat_leader_status().stale is True
    BeatInstance.objects.update(last_tick_at=timezone.now() - timedelta(hours=1))
    assert beat_leader_status().leader is None


def test_missed_runs_of_a_schedule_and_of_all_schedules_newest_first():
    interval = IntervalSchedule.objects.create(every=60, period="seconds")
    task = PeriodicTask.objects.create(name="t", task="x", interval=interval)
    now = timezone.now()
    older = records.event_record(
        task_id=task.pk,
        kind=ScheduleEvent.Kind.MISSED,
        slot=now - timedelta(minutes=2),
        slots=2,
        outcome="ran_once",
    )
    newer = records.event_record(
        task_id=task.pk, kind=ScheduleEvent.Kind.SKIPPED_OVERLAP, slot=now - timedelta(minutes=1)
    )
    records.event_record(
        task_id=task.pk, kind=ScheduleEvent.Kind.MISSED, slot=now - timedelta(days=3)
    )

    assert [e.pk for e in schedule_missed_runs(task_id=task.pk)][:2] == [newer, older]
    assert [e.pk for e in missed_runs_recent(hours=24)] == [newer, older]


def test_change_is_pending_until_beat_applies_it_including_its_crontab_row():
    cron = CrontabSchedule.objects.create(minute="1")
    task = PeriodicTask.objects.create(name="t", task="x", crontab=cron)
    feed = ChangeFeed()
    feed.start()

    CrontabSchedule.objects.filter(pk=cron.pk).update(minute="2")
    pending = change_applied_at(task_id=task.pk)
    batch = feed.poll()
    records.changes_mark_applied(feed_ids=batch.feed_ids, now=timezone.now())
    applied = change_applied_at(task_id=task.pk)

    assert pending.applied_at is None
    assert applied.applied_at is not None
    assert applied.changed_at == pending.changed_at
    assert batch.task_ids == {task.pk}
