"""Tell the operator when the Redis broker keeps nothing on disk.

Why: a Redis with neither the append-only file nor RDB snapshots loses every queued run
and the unacked set (runs in progress of lost workers) when it restarts. `manage.py check
--deploy` warns (`taskcenter.W002`) and a worker logs the same warning as it starts. A
Redis that refuses CONFIG (managed services) or does not answer within a second gets no
warning and no error; the embedded filesystem broker and RabbitMQ are not asked.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

#: Longest the check waits for Redis to connect and to answer, seconds.
TIMEOUT = 1.0


def keeps_nothing_on_disk(url: str, timeout: float = TIMEOUT) -> bool:
    """True when the Redis at `url` has `appendonly no` and no `save` rule.

    False when it persists, is not Redis, refuses CONFIG GET or does not answer.
    """
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return False
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        appendonly = _text(client.config_get("appendonly").get("appendonly", ""))
        save = _text(client.config_get("save").get("save", ""))
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
    if not appendonly and not save:
        return False  # CONFIG renamed to something that answers empty: nothing known
    return appendonly.lower() != "yes" and not save.strip()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _message() -> str:
    return gettext(
        "The Redis broker keeps nothing on disk (appendonly no, no save rule): "
        "every queued run is lost when it restarts."
    )


def _hint() -> str:
    return gettext("Turn on the append-only file: appendonly yes, appendfsync everysec.")


@checks.register(checks.Tags.compatibility, deploy=True)
def check_broker_persistence(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when the Redis broker would lose its queues in a restart."""
    if keeps_nothing_on_disk(settings.CELERY_BROKER_URL):
        return [checks.Warning(_message(), hint=_hint(), id="taskcenter.W002")]
    return []


@signals.worker_ready.connect(weak=False)
def _warn_at_worker_start(**kwargs: Any) -> None:
    if keeps_nothing_on_disk(settings.CELERY_BROKER_URL):
        logger.warning("%s %s", _message(), _hint())
