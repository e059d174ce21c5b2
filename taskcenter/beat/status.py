"""Selectors for the admin and dashboard: who leads beat, missed runs, applied changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from taskcenter.beat.changes import SOURCE_FK
from taskcenter.models import BeatInstance, ScheduleChangeFeed, ScheduleEvent


@dataclass(frozen=True)
class BeatStatus:
    """The leading beat (None fields when no beat leads) and the standbys seen lately."""

    leader: str | None
    hostname: str | None
    pid: int | None
    leader_since: datetime | None
    last_tick_at: datetime | None
    #: True when the leader has not ticked within the lease TTL (it is probably gone).
    stale: bool
    standbys: list[str]


def beat_leader_status(*, now: datetime | None = None) -> BeatStatus:
    """Return the current beat leader and its last tick, as the beats themselves report."""
    now = now or timezone.now()
    ttl = timedelta(seconds=settings.TASKCENTER_BEAT_LEASE_TTL)
    rows = list(BeatInstance.objects.filter(last_tick_at__gte=now - 2 * ttl).order_by("ident"))
    leader = next((row for row in rows if row.is_leader), None)
    standbys = [row.ident for row in rows if row is not leader]
    if leader is None:
        return BeatStatus(None, None, None, None, None, True, standbys)
    return BeatStatus(
        leader=leader.ident,
        hostname=leader.hostname,
        pid=leader.pid,
        leader_since=leader.leader_since,
        last_tick_at=leader.last_tick_at,
        stale=leader.last_tick_at < now - ttl,
        standbys=standbys,
    )


def schedule_missed_runs(*, task_id: int, limit: int = 20) -> list[ScheduleEvent]:
    """Return the latest missed or skipped slots of one schedule, newest first."""
    return list(ScheduleEvent.objects.filter(periodic_task_id=task_id).order_by("-slot")[:limit])


def missed_runs_recent(*, hours: int = 24, limit: int = 50) -> QuerySet[ScheduleEvent]:
    """Return missed/skipped slots of every schedule within `hours`, for the admin index."""
    since = timezone.now() - timedelta(hours=hours)
    return (
        ScheduleEvent.objects.filter(slot__gte=since)
        .select_related("periodic_task")
        .order_by("-slot")[:limit]
    )


@dataclass(frozen=True)
class ChangeState:
    """The last change that concerns a schedule and when beat applied it (None: not yet)."""

    changed_at: datetime
    applied_at: datetime | None


def change_applied_at(*, task_id: int) -> ChangeState | None:
    """Return whether beat has picked up the latest change to schedule `task_id`.

    Looks at changes of the task row and of the interval/crontab/solar/clocked row it
    uses; None when the feed holds no change for it (pruned after a day).
    """
    task = PeriodicTask.objects.filter(pk=task_id).values(*SOURCE_FK.values()).first()
    condition = Q(source=ScheduleChangeFeed.Source.TASK, row_id=task_id)
    for source, fk in SOURCE_FK.items():
        if task and task[fk] is not None:
            condition |= Q(source=source, row_id=task[fk])
    change = ScheduleChangeFeed.objects.filter(condition).order_by("-id").first()
    if change is None:
        return None
    return ChangeState(changed_at=change.changed_at, applied_at=change.applied_at)
