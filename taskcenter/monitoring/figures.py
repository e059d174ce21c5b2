"""Aggregate figures read with one SQL statement each: runs, durations, queues, records.

Every function here runs a fixed number of queries whatever the number of rows (GROUP BY
and conditional counts), so `/metrics` and the operations page stay fast on a large
results table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from django_celery_results.models import TaskResult

from taskcenter.catalog import UnknownJobError, get_job
from taskcenter.dispatch.broker import QueueDepth, queue_depths
from taskcenter.models import AlertState, DeadLetter, LocalJobRun, Run, ScheduleEvent

# Upper bounds (seconds) of the duration histogram: from a quick job to the 30 min limit.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
FINAL_STATES = ("SUCCESS", "FAILURE", "REVOKED")


def job_runtime(name: str) -> str:
    """Return the runtime of catalog job `name` ("unknown" for a job no longer declared)."""
    try:
        return str(get_job(name).runtime)
    except UnknownJobError:
        return "unknown"


def _duration() -> ExpressionWrapper:
    return ExpressionWrapper(F("date_done") - F("date_started"), output_field=DurationField())


def runs_by_job_state(*, since: datetime) -> dict[tuple[str, str], int]:
    """Return {(job, state): runs} of results finished (or last stored) since `since`."""
    rows = (
        TaskResult.objects.filter(date_done__gte=since)
        .values_list("task_name", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(name or "", status): n for name, status, n in rows}


@dataclass(frozen=True)
class DurationHistogram:
    """Cumulative counts of one job's run durations at each bucket bound, and their sum."""

    job: str
    buckets: tuple[int, ...]
    count: int
    total: float


def durations_by_job(*, since: datetime) -> list[DurationHistogram]:
    """Return a duration histogram per job over runs finished since `since` (one query)."""
    aggregates = {"n": Count("id"), "total": Sum("duration")}
    for i, bound in enumerate(DURATION_BUCKETS):
        aggregates[f"le{i}"] = Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
    rows = (
        TaskResult.objects.filter(
            date_done__gte=since, status__in=FINAL_STATES, date_started__isnull=False
        )
        .annotate(duration=_duration())
        .values("task_name")
        .annotate(**aggregates)
        .order_by("task_name")
    )
    return [
        DurationHistogram(
            job=row["task_name"] or "",
            buckets=tuple(row[f"le{i}"] for i in range(len(DURATION_BUCKETS))),
            count=row["n"],
            total=row["total"].total_seconds() if row["total"] else 0.0,
        )
        for row in rows
    ]


def local_runs_by_job_outcome(*, since: datetime) -> dict[tuple[str, str], int]:
    """Return {(job, outcome): runs} of local (APScheduler) job runs created since `since`."""
    rows = (
        LocalJobRun.objects.filter(created_at__gte=since)
        .values_list("job", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(job, outcome): n for job, outcome, n in rows}


def missed_runs_by_schedule(*, since: datetime) -> dict[str, int]:
    """Return {schedule name: slots missed} of beat's missed-run records since `since`."""
    rows = (
        ScheduleEvent.objects.filter(kind=ScheduleEvent.Kind.MISSED, slot__gte=since)
        .values_list("periodic_task__name")
        .annotate(n=Sum("slots"))
        .order_by()
    )
    return {name: n or 0 for name, n in rows}


def dead_letters_open() -> int:
    """Return how many dead letters wait for an operator."""
    return DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).count()


def alerts_open_by_cause() -> dict[str, int]:
    """Return {cause: open alert incidents}."""
    rows = (
        AlertState.objects.filter(active=True)
        .values_list("cause")
        .annotate(n=Count("key"))
        .order_by()
    )
    return dict(rows)


def queues_with_age(*, timeout: float) -> list[QueueDepth]:
    """Return each queue's depth with the oldest message's age (from its run's record)."""
    depths = queue_depths(timeout=timeout)
    ids = [d.oldest_task_id for d in depths if d.oldest_task_id and d.oldest_age is None]
    if not ids:
        return depths
    created = dict(Run.objects.filter(id__in=ids).values_list("id", "created_at"))
    missing = [i for i in ids if i not in created]
    if missing:
        created.update(
            TaskResult.objects.filter(task_id__in=missing).values_list("task_id", "date_created")
        )
    now = timezone.now()
    return [
        QueueDepth(
            queue=d.queue,
            waiting=d.waiting,
            oldest_task_id=d.oldest_task_id,
            oldest_age=(now - created[d.oldest_task_id]).total_seconds()
            if d.oldest_task_id in created
            else d.oldest_age,
        )
        for d in depths
    ]
