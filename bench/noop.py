"""The no-op job of bench/results_throughput.py; its workers import it with `-I bench.noop`."""

from __future__ import annotations

import os

import redis
from celery import shared_task

_counter: redis.Redis | None = None


@shared_task(name="bench.noop")
def noop(counter: str) -> None:
    """Do nothing but count, so the bench sees the last task finish (same cost in every variant)."""
    global _counter
    if _counter is None:
        _counter = redis.Redis.from_url(os.environ["REDIS_URL"])
    _counter.incr(counter)
