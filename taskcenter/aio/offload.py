"""The offload half of `TaskManager`: gathers, threads and processes under its limiters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import anyio
from anyio import to_process, to_thread

from taskcenter.aio.gather import gather_limited


class Offload:
    """Fan-out helpers bound to a manager's global, thread and process limiters."""

    global_limiter: anyio.CapacityLimiter
    thread_limiter: anyio.CapacityLimiter
    process_limiter: anyio.CapacityLimiter

    async def run_gather_with_concurrency(
        self,
        funcs: Iterable[Callable[[], Awaitable[Any]]],
        *,
        limit: int | None = None,
        return_exceptions: bool = False,
    ) -> list[Any]:
        """Await every zero-argument coroutine function, at most `limit` at a time, in order."""
        return await gather_limited(
            funcs,
            limit=limit or self.global_limiter.total_tokens,
            return_exceptions=return_exceptions,
        )

    async def run_in_thread(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run blocking `func(*args)` in a worker thread, within the thread capacity."""
        return await to_thread.run_sync(func, *args, limiter=self.thread_limiter)

    async def run_in_process(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run CPU-bound `func(*args)` in a worker process (it must be picklable)."""
        return await to_process.run_sync(func, *args, limiter=self.process_limiter)

    async def run_in_threads(self, func: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
        """Map `func` over `items` in threads; results keep the order of `items`."""
        return await gather_limited(
            [lambda i=i: self.run_in_thread(func, i) for i in items],
            limit=self.thread_limiter.total_tokens,
        )

    async def run_in_processes(self, func: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
        """Map `func` over `items` in processes; results keep the order of `items`."""
        return await gather_limited(
            [lambda i=i: self.run_in_process(func, i) for i in items],
            limit=self.process_limiter.total_tokens,
        )
