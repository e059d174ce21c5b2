"""The one client for Celery work: views, admin and commands call this, never Celery.

It is the seed's `CeleryClient`, the Django way: every submission is checked against
the job catalog first (only catalog jobs run, with arguments that fit their signature),
and periodic tasks are written through django-celery-beat's models so beat sees them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import kombu.exceptions
from celery import chain as celery_chain
from celery import chord as celery_chord
from celery import current_task, signals
from celery import group as celery_group
from celery.app.task import Task
from celery.canvas import Signature
from celery.result import AsyncResult
from django.db import transaction
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
)

from config.celery import app
from taskcenter import redis_publisher
from taskcenter.catalog import Runtime, get_job

#: What publishing raises when the broker is unreachable (kombu wraps most of them).
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    ConnectionError,
    TimeoutError,
    OSError,
)

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


@dataclass(frozen=True)
class Submission:
    """One catalog job to publish with `submit_many`: its keyword arguments and options."""

    name: str
    kwargs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)


def submit_many(submissions: Sequence[Submission]) -> None:
    """Validate every submission, then publish them all in one broker round trip.

    On Redis, `taskcenter.redis_publisher` writes the messages `apply_async` would write
    (publish signals included) in one round trip, for a fraction of the CPU. Where it does
    not apply, `apply_async` runs inside kombu's `Producer.batch()`, which on Redis also
    sends one pipeline and elsewhere publishes each message at once. Raises one of
    BROKER_ERRORS if the broker did not take them: a refused connection sends none, but a
    connection lost midway may have sent a part.
    """
    prepared = []
    for sub in submissions:
        job = get_job(sub.name, Runtime.CELERY)
        unknown = set(sub.options) - SUBMIT_OPTIONS
        if unknown:
            raise TypeError(f"unknown submit options: {', '.join(sorted(unknown))}")
        prepared.append((job.task, job.validate([], sub.kwargs), sub.options))
    with app.producer_or_acquire() as producer:
        if all(redis_publisher.can_publish(task, opts.get("queue")) for task, _, opts in prepared):
            redis_publisher.publish_many(
                producer,
                [
                    redis_publisher.Message(
                        task, options.get("task_id") or str(uuid.uuid4()), bound, **_rest(options)
                    )
                    for task, bound, options in prepared
                ],
            )
            return
        _publish_batch(producer, prepared)


def _rest(options: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if key != "task_id"}


def _publish_batch(
    producer: Any, prepared: list[tuple[Task, dict[str, Any], dict[str, Any]]]
) -> None:
    """`apply_async` each prepared message inside kombu's `Producer.batch()`."""
    with producer.batch(max_size=len(prepared) + 1):
        for task, bound, options in prepared:
            # retry=False: inside a batch a publish only buffers the message, so kombu's
            # retry wrapper (built anew for every message and its queue declaration,
            # ~0.1 ms of CPU per message here) could not retry the real send anyway. The
            # pipeline sent at the end retries a dropped connection itself (redis-py).
            task.apply_async(kwargs=bound, producer=producer, retry=False, **options)


@dataclass(frozen=True)
class Step:
    """One catalog job in a workflow.

    With `receives_previous`, the job's first parameter is filled at run time: in a
    chain with the previous step's result, as a chord's callback with the list of the
    header's results. Otherwise the step ignores what came before (an immutable signature).
    """

    name: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None
    receives_previous: bool = False


def signature(step: Step) -> Signature:
    """Validate `step` against the catalog and return its Celery signature."""
    job = get_job(step.name, Runtime.CELERY)
    if step.receives_previous:
        bound = job.validate_after_first(list(step.args), step.kwargs)
    else:
        bound = job.validate(list(step.args), step.kwargs)
    options = {"task_id": step.task_id} if step.task_id else {}
    return job.task.signature(kwargs=bound, immutable=not step.receives_previous, **options)


def chain(steps: Sequence[Step]) -> AsyncResult:
    """Validate every step, then send them as one chain; return the last step's result."""
    signatures = [signature(step) for step in steps]
    return celery_chain(*signatures).apply_async()


def group(steps: Sequence[Step]) -> AsyncResult:
    """Validate every step, then send them to run in parallel; return the GroupResult."""
    signatures = [signature(step) for step in steps]
    return celery_group(signatures).apply_async()


def chord(header: Sequence[Step], callback: Step) -> AsyncResult:
    """Validate the header and the callback, then send; the callback gets the header's results."""
    signatures = [signature(step) for step in header]
    body = signature(callback)
    return celery_chord(signatures)(body)


def report_progress(percent: float, message: str = "") -> None:
    """From inside a running job: store state PROGRESS with `percent` (0-100) for its run.

    Called outside a worker (a unit test calling the function directly) it does nothing.
    """
    task = current_task
    if task is None or task.request.called_directly or not task.request.id:
        return
    percent = max(0.0, min(100.0, float(percent)))
    task.update_state(state="PROGRESS", meta={"percent": percent, "message": message[:200]})


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


def register_task_hooks(
    *,
    on_prerun: Callable[..., Any] | None = None,
    on_retry: Callable[..., Any] | None = None,
    on_failure: Callable[..., Any] | None = None,
) -> None:
    """Connect worker-side callbacks to Celery's task_prerun, task_retry and task_failure."""
    if on_prerun is not None:
        signals.task_prerun.connect(on_prerun, weak=False)
    if on_retry is not None:
        signals.task_retry.connect(on_retry, weak=False)
    if on_failure is not None:
        signals.task_failure.connect(on_failure, weak=False)
