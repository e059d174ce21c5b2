"""Logic of the demo jobs: arithmetic, a slow job that reports progress, a flaky downstream,
and an in-process pause."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import anyio
import redis
from django.conf import settings

from taskcenter import dispatch

#: Redis key whose presence makes `downstream_call` fail, as an outage would.
OUTAGE_KEY = "taskcenter:demo:outage:{name}"
#: How long a simulated outage lasts unless ended first, in seconds.
OUTAGE_SECONDS = 600


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


def _outage_file(name: str) -> Path:
    """The marker file of an outage on the embedded default (no Redis): under var/demo/."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:32]
    return Path(settings.VAR_DIR) / "demo" / f"outage-{digest}"


def outage_set(*, name: str, down: bool) -> None:
    """Start (for OUTAGE_SECONDS) or end a simulated outage of downstream `name`.

    Kept in Redis when the task center has one, else in a file under var/, so the web
    process, the shell and the worker see the same outage either way.
    """
    if settings.REDIS_URL:
        key = OUTAGE_KEY.format(name=name)
        _redis().set(key, 1, ex=OUTAGE_SECONDS) if down else _redis().delete(key)
        return
    marker = _outage_file(name)
    if down:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(time.time() + OUTAGE_SECONDS))
    else:
        marker.unlink(missing_ok=True)


def _outage_now(name: str) -> bool:
    if settings.REDIS_URL:
        try:
            return bool(_redis().exists(OUTAGE_KEY.format(name=name)))
        except redis.RedisError as exc:
            raise DownstreamUnavailableError(f"downstream {name}: state unreadable") from exc
    try:
        return float(_outage_file(name).read_text()) > time.time()
    except (FileNotFoundError, ValueError):
        return False


def downstream_call(*, name: str) -> str:
    """Call downstream `name`; raise DownstreamUnavailableError while it is down."""
    if _outage_now(name):
        raise DownstreamUnavailableError(f"downstream {name} refused the connection")
    return f"{name}: ok"


async def pause_for(*, seconds: float, fail: bool) -> float:
    """Wait `seconds` without blocking the event loop; raise at the end when `fail`."""
    await anyio.sleep(seconds)
    if fail:
        raise RuntimeError(f"failed on purpose after {seconds:g} s")
    return seconds
