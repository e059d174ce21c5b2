"""The Celery task class of every catalog job: holds each job to its delivery promise.

Why: an idempotent job is acknowledged after it runs and delivered again when its worker is
lost. A job that kills its worker every time (a segfault, the OOM killer) would then be
delivered forever; here each start is counted and the one after `TASKCENTER_MAX_DELIVERIES`
fails with the reason instead of running, which stores FAILURE and a dead letter through
the usual failure path. An at-most-once job is acknowledged by the worker's main process
once a pool child has taken it, and an acknowledgement still waiting there when the worker
stops (a warm shutdown) is lost, so the message came back and ran a second time; here a
second start of the same attempt is skipped (no result stored, message acknowledged).

The count lives in the task center's Redis (`REDIS_URL`, one INCR per start), which is
the broker's Redis or, on RabbitMQ, the beat lease store: RabbitMQ redelivers a message
whose acknowledgement a warm shutdown lost just as Redis does. On RabbitMQ the quorum
queue's own `x-delivery-count` header caps idempotent jobs (it also counts deliveries that
never started). The filesystem broker never redelivers, and has no Redis to count in.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import Task
from celery.exceptions import Ignore
from django.conf import settings
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

#: How long a delivery count is kept: far beyond any run and its redeliveries.
COUNT_TTL = 7 * 24 * 3600


class DeliveryLimitError(RuntimeError):
    """The run was delivered more often than allowed; its worker was lost each time."""


@functools.cache
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def _on_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://"))


def _on_amqp() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://"))


def start_count(request: Any) -> int | None:
    """Count this start of the run's attempt in Redis; None where no Redis is configured."""
    url = settings.CELERY_BROKER_URL if _on_redis() else settings.REDIS_URL
    if not url:
        return None
    key = f"taskcenter:deliveries:{request.id}:{request.retries or 0}"
    pipe = _redis(url).pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, COUNT_TTL)
    count, _ = pipe.execute()
    return int(count)


def delivery_count(request: Any) -> int | None:
    """Return how many times the run in `request` was delivered, this one included."""
    if _on_redis():
        return start_count(request)
    if _on_amqp():
        # A quorum queue counts the earlier deliveries of a message itself.
        earlier = getattr(request, "x-delivery-count", None)
        if earlier is None:
            earlier = (request.headers or {}).get("x-delivery-count") if request.headers else None
        return int(earlier or 0) + 1
    return None


class CatalogTask(Task):
    """A catalog job's task: idempotent ones capped, at-most-once ones started once."""

    #: Set by `@celery_job(idempotent=True)`.
    idempotent = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.request.called_directly:
            if self.idempotent:
                self._check_delivery_limit()
            elif (start_count(self.request) or 1) > 1:
                logger.warning(
                    "%s[%s] already started once; an at-most-once job is not run again",
                    self.name,
                    self.request.id,
                )
                raise Ignore()
        return super().__call__(*args, **kwargs)

    def _check_delivery_limit(self) -> None:
        count = delivery_count(self.request)
        limit = settings.TASKCENTER_MAX_DELIVERIES
        if count is not None and count > limit:
            raise DeliveryLimitError(
                gettext(
                    "delivered %(count)d times, more than the %(limit)d allowed: "
                    "its worker was lost each time it ran"
                )
                % {"count": count, "limit": limit}
            )
