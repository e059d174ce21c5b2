"""Logic of the demo jobs: arithmetic, a slow job that reports progress, a flaky downstream,
and an in-process pause."""

from __future__ import annotations

import time

import anyio
import redis
from django.conf import settings

from taskcenter import dispatch

#: Redis key whose presence makes `downstream_call` fail, as an outage would.
OUTAGE_KEY = "taskcenter:demo:outage:{name}"


class DownstreamUnavailableError(ConnectionError):
    """The (simulated) downstream service is down; worth retrying later."""


def numbers_add(*, x: int, y: int) -> int:
    return x + y


def numbers_sum(*, values: list[int]) -> int:
    return sum(values)


def work_slowly(*, seconds: float, steps: int) -> int:
    """Sleep `seconds` in `steps` slices, reporting progress after each one."""
    for step in range(1, steps + 1):
        time.sleep(seconds / steps)
        dispatch.report_progress(100 * step / steps, f"step {step} of {steps}")
    return steps


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


def outage_set(*, name: str, down: bool) -> None:
    """Start or end a simulated outage of downstream `name`."""
    key = OUTAGE_KEY.format(name=name)
    _redis().set(key, 1, ex=600) if down else _redis().delete(key)


def downstream_call(*, name: str) -> str:
    """Call downstream `name`; raise DownstreamUnavailableError while it is down."""
    if _redis().exists(OUTAGE_KEY.format(name=name)):
        raise DownstreamUnavailableError(f"downstream {name} refused the connection")
    return f"{name}: ok"


async def pause_for(*, seconds: float, fail: bool) -> float:
    """Wait `seconds` without blocking the event loop; raise at the end when `fail`."""
    await anyio.sleep(seconds)
    if fail:
        raise RuntimeError(f"failed on purpose after {seconds:g} s")
    return seconds
