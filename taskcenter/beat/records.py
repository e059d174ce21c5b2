"""Beat's writes: claimed slots, run events, heartbeats, applied changes. One query each."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from taskcenter.models import BeatInstance, ScheduleChangeFeed, ScheduleEvent

#: States after which a task is no longer running.
_DONE = ("SUCCESS", "FAILURE", "REVOKED", "IGNORED")
_BUSY = ("STARTED", "RETRY", "RECEIVED")


def slots_store(*, models: Iterable[PeriodicTask]) -> None:
    """Write last_run_at/total_run_count of `models` in one UPDATE per 500 rows.

    Raw SQL because it runs for every dispatch batch: `bulk_update` builds the same
    CASE statement through the ORM at several times the CPU cost. `date_changed` is not
    touched, so the write is not a schedule change.
    """
    rows = list(models)
    adapt = connection.ops.adapt_datetimefield_value
    table = PeriodicTask._meta.db_table
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        whens = " ".join(["WHEN %s THEN %s"] * len(chunk))
        params: list = []
        for row in chunk:
            params += [row.pk, adapt(row.last_run_at)]
        for row in chunk:
            params += [row.pk, row.total_run_count]
        params += [row.pk for row in chunk]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_run_at = CASE id {whens} END, "
                f"total_run_count = CASE id {whens} END "
                f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                params,
            )


def event_record(
    *, task_id: int, kind: str, slot: datetime, slots: int = 1, outcome: str = "", reason: str = ""
) -> int:
    """Record a missed or skipped slot; return its id."""
    event = ScheduleEvent.objects.create(
        periodic_task_id=task_id,
        kind=kind,
        slot=slot,
        slots=slots,
        outcome=outcome,
        reason=reason[:255],
    )
    return event.pk


def _pending(task_id: int | None = None):
    rows = ScheduleEvent.objects.filter(
        kind=ScheduleEvent.Kind.MISSED, outcome=ScheduleEvent.Outcome.PENDING
    )
    return rows if task_id is None else rows.filter(periodic_task_id=task_id)


def tasks_with_pending_events() -> set[int]:
    """Return ids of schedules whose failed publish still waits for the broker."""
    return set(_pending().values_list("periodic_task_id", flat=True))


def event_pending_record(*, task_id: int, slot: datetime, reason: str) -> None:
    """Record a failed publish once per outage: nothing if one is already pending."""
    if not _pending(task_id).exists():
        event_record(
            task_id=task_id,
            kind=ScheduleEvent.Kind.MISSED,
            slot=slot,
            outcome=ScheduleEvent.Outcome.PENDING,
            reason=reason,
        )


def events_pending_resolve(*, task_id: int, outcome: str, slots: int) -> int:
    """Set how the pending missed slot(s) of a schedule were handled; return how many."""
    return _pending(task_id).update(outcome=outcome, slots=slots, updated_at=timezone.now())


def run_still_busy(
    *, task_name: str, last_task_id: str | None, last_sent_at: datetime | None, now: datetime
) -> bool:
    """Return whether the previous run of a schedule is queued or running.

    A run older than the task time limit counts as finished whatever its record says:
    its worker would have killed it, and a lost message must not block the schedule forever.
    """
    horizon = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    if last_task_id and last_sent_at and last_sent_at > horizon:
        status = (
            TaskResult.objects.filter(task_id=last_task_id).values_list("status", flat=True).first()
        )
        return status not in _DONE
    return TaskResult.objects.filter(
        periodic_task_name=task_name, status__in=_BUSY, date_created__gt=horizon
    ).exists()


def instance_register(*, ident: str, now: datetime) -> None:
    BeatInstance.objects.update_or_create(
        ident=ident,
        defaults={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "is_leader": False,
            "started_at": now,
            "last_tick_at": now,
        },
    )


def instance_heartbeat(
    *, ident: str, is_leader: bool, leader_since: datetime | None, now: datetime
) -> None:
    """Store this beat's role and last tick (a leader also clears others' leader flag)."""
    BeatInstance.objects.filter(ident=ident).update(
        is_leader=is_leader, leader_since=leader_since, last_tick_at=now
    )
    if is_leader:
        BeatInstance.objects.filter(is_leader=True).exclude(ident=ident).update(is_leader=False)


def instance_stop(*, ident: str) -> None:
    BeatInstance.objects.filter(ident=ident).delete()


def changes_mark_applied(*, feed_ids: list[int], now: datetime) -> None:
    if feed_ids:
        ScheduleChangeFeed.objects.filter(id__in=feed_ids, applied_at__isnull=True).update(
            applied_at=now
        )


def housekeeping(*, now: datetime) -> None:
    """Drop feed rows older than a day and instances silent for an hour."""
    ScheduleChangeFeed.objects.filter(changed_at__lt=now - timedelta(days=1)).delete()
    BeatInstance.objects.filter(last_tick_at__lt=now - timedelta(hours=1)).delete()
