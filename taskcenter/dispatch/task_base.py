"""The Celery task class of every catalog job: caps how often a run is delivered.

Why: an idempotent job is acknowledged after it runs and delivered again when its worker is
lost. A job that kills its worker every time (a segfault, the OOM killer) would then be
delivered forever; here each delivery is counted as it starts and the one after
`TASKCENTER_MAX_DELIVERIES` fails with the reason instead of running, which stores FAILURE
and a dead letter through the usual failure path. The count lives in the broker's Redis
(one INCR per start of an idempotent job, nothing for the others) or, on RabbitMQ, in the
quorum queue's own `x-delivery-count` header; the filesystem broker never redelivers.
"""

from __future__ import annotations

import functools
from typing import Any

from celery import Task
from django.conf import settings
from django.utils.translation import gettext

#: How long a delivery count is kept: far beyond any run and its redeliveries.
COUNT_TTL = 7 * 24 * 3600


class DeliveryLimitError(RuntimeError):
    """The run was delivered more often than allowed; its worker was lost each time."""


@functools.cache
def _redis() -> Any:
    import redis

    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=10, socket_connect_timeout=5
    )


def delivery_count(request: Any) -> int | None:
    """Count this delivery of the run in `request`; return how many there have been so far."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        key = f"taskcenter:deliveries:{request.id}:{request.retries or 0}"
        pipe = _redis().pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, COUNT_TTL)
        count, _ = pipe.execute()
        return int(count)
    if url.startswith(("amqp://", "amqps://", "pyamqp://")):
        # A quorum queue counts the earlier deliveries of a message itself.
        earlier = getattr(request, "x-delivery-count", None)
        if earlier is None:
            earlier = (request.headers or {}).get("x-delivery-count") if request.headers else None
        return int(earlier or 0) + 1
    return None


class CatalogTask(Task):
    """A catalog job's task: an idempotent one refuses a delivery beyond the cap."""

    #: Set by `@celery_job(idempotent=True)`.
    idempotent = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.idempotent and not self.request.called_directly:
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
        return super().__call__(*args, **kwargs)
