"""The one client for Celery work: views, admin and commands call this, never Celery.

It is the seed's `CeleryClient`, the Django way: every submission is checked against
the job catalog first (only catalog jobs run, with arguments that fit their signature),
and periodic tasks are written through django-celery-beat's models so beat sees them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import signals
from celery.result import AsyncResult
from django.db import transaction
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
)

from config.celery import app
from taskcenter.catalog import Runtime, get_job

#: Options a caller may pass through to `apply_async`.
SUBMIT_OPTIONS = frozenset(
    {"queue", "countdown", "eta", "priority", "expires", "task_id", "headers"}
)


def submit(
    name: str,
    args: list[Any] | tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncResult:
    """Validate and enqueue one Celery catalog job; return its AsyncResult.

    Raises UnknownJobError, JobArgumentsError or TypeError (unknown option) before
    anything reaches the broker.
    """
    job = get_job(name, Runtime.CELERY)
    unknown = set(options) - SUBMIT_OPTIONS
    if unknown:
        raise TypeError(f"unknown submit options: {', '.join(sorted(unknown))}")
    bound = job.validate(list(args), kwargs or {})
    return job.task.apply_async(kwargs=bound, **options)


def status(task_id: str) -> str:
    """Return Celery's state for `task_id` (PENDING for ids it has never seen)."""
    return AsyncResult(task_id, app=app).state


def result(task_id: str, *, timeout: float | None = None) -> Any:
    """Wait up to `timeout` seconds for the task's return value (raises on failure)."""
    return AsyncResult(task_id, app=app).get(timeout=timeout, interval=0.1)


def revoke(task_id: str, *, terminate: bool = False) -> None:
    """Revoke a task: queued, it never runs; running, it is killed only with `terminate`."""
    app.control.revoke(task_id, terminate=terminate, signal="SIGTERM")


def _schedule_for(
    *,
    every_seconds: int | None = None,
    crontab: str | None = None,
    timezone: str = "UTC",
    at: datetime | None = None,
) -> dict[str, Any]:
    """Return the schedule field for PeriodicTask, sharing identical schedule rows."""
    given = [x is not None for x in (every_seconds, crontab, at)]
    if sum(given) != 1:
        raise ValueError("give exactly one of every_seconds, crontab or at")
    if every_seconds is not None:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=every_seconds, period=IntervalSchedule.SECONDS
        )
        return {"interval": interval}
    if crontab is not None:
        fields = crontab.split()
        if len(fields) != 5:
            raise ValueError("crontab needs five fields: minute hour day month weekday")
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        cron, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=timezone,
        )
        return {"crontab": cron}
    clocked, _ = ClockedSchedule.objects.get_or_create(clocked_time=at)
    return {"clocked": clocked, "one_off": True}


@transaction.atomic
def add_periodic_task(
    *,
    name: str,
    job: str,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    queue: str | None = None,
    enabled: bool = True,
    **schedule: Any,
) -> PeriodicTask:
    """Create (or replace) the periodic task `name` running catalog job `job`."""
    spec = get_job(job, Runtime.CELERY)
    bound = spec.validate(args or [], kwargs or {})
    task, _ = PeriodicTask.objects.update_or_create(
        name=name,
        defaults={
            "task": job,
            "args": "[]",
            "kwargs": json.dumps(bound),
            "queue": queue or spec.queue,
            "enabled": enabled,
            "interval": None,
            "crontab": None,
            "clocked": None,
            "solar": None,
            "one_off": False,
            **_schedule_for(**schedule),
        },
    )
    return task


def remove_periodic_task(name: str) -> bool:
    """Delete the periodic task `name`; return whether it existed."""
    deleted, _ = PeriodicTask.objects.filter(name=name).delete()
    return bool(deleted)


def register_worker_hooks(
    *, on_startup: Callable[..., Any] | None = None, on_shutdown: Callable[..., Any] | None = None
) -> None:
    """Call `on_startup`/`on_shutdown(sender=worker)` when a worker process starts or stops."""
    if on_startup is not None:
        signals.worker_ready.connect(on_startup, weak=False)
    if on_shutdown is not None:
        signals.worker_shutdown.connect(on_shutdown, weak=False)
