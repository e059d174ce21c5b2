"""Concurrent URL health checks on AnyIO, with a capacity limit."""

import time
import urllib.error
import urllib.request
from typing import Any

import anyio

from taskcenter.aio.manager import gather_limited


def _fetch_status(url: str, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "taskcenter"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
        error = None
    except urllib.error.HTTPError as exc:
        status, error = exc.code, None
    except (urllib.error.URLError, OSError) as exc:
        status, error = None, type(exc).__name__
    ok = status is not None and status < 400
    elapsed = round(time.monotonic() - started, 4)
    return {"url": url, "ok": ok, "status": status, "error": error, "seconds": elapsed}


async def urls_check(*, urls: list[str], capacity: int, timeout: float) -> list[dict[str, Any]]:
    """GET each URL, at most `capacity` at once; one result per URL, in input order.

    urllib is blocking, so each request runs in a worker thread; the deadline bounds
    the wait even if a thread lingers on a stuck socket.
    """
    limiter = anyio.CapacityLimiter(capacity)

    async def check(url: str) -> dict[str, Any]:
        with anyio.move_on_after(timeout + 1):
            return await anyio.to_thread.run_sync(_fetch_status, url, timeout, limiter=limiter)
        return {"url": url, "ok": False, "status": None, "error": "timeout", "seconds": timeout}

    return await gather_limited([lambda u=u: check(u) for u in urls], limit=capacity)
