"""Submit catalog jobs to Celery: one at a time (`submit`) or a batch in one round trip.

Every submission names a catalog job, so only catalog jobs reach the broker. Arguments
are validated once, by the service that takes the request (`Job.validate`): both functions
trust them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import kombu.exceptions
from celery.app.task import Task
from celery.result import AsyncResult
from django.conf import settings

from config.celery import app
from taskcenter.catalog import Runtime, get_job
from taskcenter.dispatch import redis_publisher

#: What publishing raises when the broker is unreachable (kombu wraps most of them; a
#: batch whose pipeline failed raises BatchPublishError, not an OperationalError).
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    kombu.exceptions.BatchPublishError,
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
    """Enqueue one Celery catalog job with arguments already validated; return its AsyncResult.

    The caller validates (`Job.validate`, or a service that does): arguments are checked
    once, where the request is understood. Raises UnknownJobError or TypeError (unknown
    option) before anything reaches the broker.
    """
    job = get_job(name, Runtime.CELERY)
    unknown = set(options) - SUBMIT_OPTIONS
    if unknown:
        raise TypeError(f"unknown submit options: {', '.join(sorted(unknown))}")
    return job.task.apply_async(args=list(args), kwargs=kwargs or {}, **options)


@dataclass(frozen=True)
class Submission:
    """One catalog job to publish with `submit_many`: its keyword arguments and options."""

    name: str
    kwargs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)


def submit_many(submissions: Sequence[Submission]) -> None:
    """Publish already validated submissions, in one broker round trip where the broker allows.

    On Redis, `taskcenter.dispatch.redis_publisher` writes the messages `apply_async` would write
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
        prepared.append((job.task, sub.kwargs, sub.options))
    with app.producer_or_acquire() as producer:
        if settings.TASKCENTER_FAST_PUBLISH and all(
            redis_publisher.can_publish(task, opts.get("queue")) for task, _, opts in prepared
        ):
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
            # retry wrapper (built anew for every message and its queue declaration) could
            # not retry the real send anyway. The
            # pipeline sent at the end retries a dropped connection itself (redis-py).
            task.apply_async(kwargs=bound, producer=producer, retry=False, **options)
