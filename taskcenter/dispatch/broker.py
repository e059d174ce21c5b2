"""Read the broker directly: does it answer, and how many messages wait in each queue.

The health probe and the monitoring figures ask here, with short socket timeouts, so a
hung Redis costs them about `timeout` seconds, never the socket default. Redis and the
filesystem transport of the embedded default are read; another transport is pinged
through kombu and reports no depths.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from django.conf import settings
from kombu import Connection

# kombu's Redis transport keeps a priority level other than 0 in its own list, named
# queue + this separator + the level (kombu.transport.redis.Channel.sep / PRIORITY_STEPS).
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


@dataclass(frozen=True)
class QueueDepth:
    """Messages waiting in one queue, and the oldest one's task id or age when known."""

    queue: str
    waiting: int
    oldest_task_id: str | None = None
    oldest_age: float | None = None


def _broker_url() -> str:
    return str(settings.CELERY_BROKER_URL)


def _redis_client(timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        _broker_url(), socket_timeout=timeout, socket_connect_timeout=timeout
    )


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "redis+socket://", "unix://"))


def broker_ping(*, timeout: float) -> None:
    """Raise when the broker does not answer within about `timeout` seconds."""
    url = _broker_url()
    if _is_redis(url):
        client = _redis_client(timeout)
        try:
            client.ping()
        finally:
            client.close()
        return
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            raise OSError(f"broker folder {folder} is missing or not writable")
        return
    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)


def _redis_depth(client: redis.Redis, queue: str) -> QueueDepth:
    keys = [queue if pri == 0 else f"{queue}{_PRIORITY_SEP}{pri}" for pri in _PRIORITY_STEPS]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.llen(key)
    # LPUSH in, RPOP out: the oldest message sits at the tail of the level-0 list.
    pipe.lindex(queue, -1)
    *lengths, tail = pipe.execute()
    oldest = None
    if tail:
        try:
            oldest = json.loads(tail).get("headers", {}).get("id")
        except (ValueError, AttributeError):
            oldest = None
    return QueueDepth(queue=queue, waiting=sum(lengths), oldest_task_id=oldest)


def _filesystem_depths(queues: list[str]) -> list[QueueDepth]:
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    counts = {q: 0 for q in queues}
    oldest: dict[str, float] = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        entries = []
    for entry in entries:
        # kombu names each message "<ms>_<uuid>.<queue>.msg".
        queue = entry.name.partition(".")[2].removesuffix(".msg")
        if queue in counts:
            counts[queue] += 1
            try:
                mtime = entry.stat().st_mtime
            except FileNotFoundError:
                continue
            oldest[queue] = min(oldest.get(queue, mtime), mtime)
    now = time.time()
    return [
        QueueDepth(
            queue=q,
            waiting=counts[q],
            oldest_age=max(0.0, now - oldest[q]) if q in oldest else None,
        )
        for q in queues
    ]


def queue_names() -> list[str]:
    """Return the names of the configured queues."""
    return [q.name for q in settings.CELERY_TASK_QUEUES]


def queue_depths(*, timeout: float) -> list[QueueDepth]:
    """Return each configured queue's waiting messages; raise when the broker fails."""
    url, queues = _broker_url(), queue_names()
    if _is_redis(url):
        client = _redis_client(timeout)
        try:
            return [_redis_depth(client, q) for q in queues]
        finally:
            client.close()
    if url.startswith("filesystem://"):
        return _filesystem_depths(queues)
    return []
