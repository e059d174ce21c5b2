"""Await many calls with a concurrency limit, results in input order.

A fixed set of runner tasks pulls the next call by index, so the cost is one task per
slot of the limit, not one per call, and no limiter is contended.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import anyio

logger = logging.getLogger(__name__)


async def gather_limited(
    funcs: Iterable[Callable[[], Awaitable[Any]]],
    *,
    limit: float,
    return_exceptions: bool = False,
) -> list[Any]:
    """Await every zero-argument coroutine function, at most `limit` at once, in order.

    With `return_exceptions` an exception takes its call's place in the results;
    without, the first one cancels the rest and is raised as itself (any other failure
    seen before the cancellation lands is logged, never dropped silently).
    """
    funcs = list(funcs)
    results: list[Any] = [None] * len(funcs)
    failures: list[Exception] = []
    positions = iter(range(len(funcs)))
    slots = len(funcs) if limit == math.inf else min(int(limit), len(funcs))
    if slots < 1 and funcs:
        raise ValueError("limit must be at least 1")

    async def runner() -> None:
        for index in positions:
            try:
                results[index] = await funcs[index]()
            except Exception as exc:
                if return_exceptions:
                    results[index] = exc
                    continue
                if failures:
                    logger.warning("gather: a further call failed too: %r", exc, exc_info=exc)
                failures.append(exc)
                tg.cancel_scope.cancel()
                return

    async with anyio.create_task_group() as tg:
        for _ in range(slots):
            tg.start_soon(runner)
    if failures:
        raise failures[0]
    return results
