"""Lightweight concurrent work on AnyIO: capacity limits, timeouts, cancellation, offload.

For work too small to be worth a broker round trip (checking a handful of URLs, fanning
out a few queries), run inside the current process. `TaskManager` is a
task group with a global capacity limit, separate limits for
thread and process offload, a default timeout, and per-task status and cancellation.

Note: a thread started by `to_thread.run_sync` keeps running when the awaiting task is
cancelled (AnyIO cannot stop a thread); only the await is abandoned.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio import to_process, to_thread
from anyio.abc import TaskGroup

logger = logging.getLogger(__name__)


@dataclass
class TaskInfo:
    """What the manager knows of one task it started."""

    task_id: str
    name: str
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope, repr=False)
    status: str = "pending"  # pending, running, done, failed, cancelled, timeout
    result: Any = None
    exception: BaseException | None = None


class QueueFullError(RuntimeError):
    """The manager already holds `max_queue` unfinished tasks."""


class TaskManager:
    """Run coroutines concurrently under capacity limits; use as `async with TaskManager()`."""

    def __init__(
        self,
        *,
        max_concurrency: int = 16,
        thread_capacity: int = 8,
        process_capacity: int = 2,
        max_queue: int = 1000,
        default_timeout: float | None = 30.0,
    ) -> None:
        self.max_queue = max_queue
        self.default_timeout = default_timeout
        self._global_limiter = anyio.CapacityLimiter(max_concurrency)
        self._thread_limiter = anyio.CapacityLimiter(thread_capacity)
        self._process_limiter = anyio.CapacityLimiter(process_capacity)
        self._tg: TaskGroup | None = None
        self._ids = itertools.count(1)
        self.tasks: dict[str, TaskInfo] = {}

    async def __aenter__(self) -> TaskManager:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown(cancel=exc_info[0] is not None)

    async def start(self) -> None:
        """Open the task group that every added task runs in."""
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()

    async def shutdown(self, *, cancel: bool = False) -> None:
        """Wait for every task to finish (or cancel them all first when `cancel`)."""
        if self._tg is None:
            return
        if cancel:
            self._tg.cancel_scope.cancel()
        tg, self._tg = self._tg, None
        await tg.__aexit__(None, None, None)

    def add_task(
        self,
        func: Callable[..., Awaitable[Any]],
        *args: Any,
        name: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Start `func(*args)` in the group and return its task id.

        Raises QueueFullError when `max_queue` tasks are unfinished, so a caller learns of
        overload at once instead of piling work up in memory.
        """
        if self._tg is None:
            raise RuntimeError("TaskManager is not started")
        unfinished = sum(1 for t in self.tasks.values() if t.status in ("pending", "running"))
        if unfinished >= self.max_queue:
            raise QueueFullError(f"{unfinished} tasks are already waiting or running")
        info = TaskInfo(task_id=str(next(self._ids)), name=name or func.__name__)
        self.tasks[info.task_id] = info
        self._tg.start_soon(self._run, info, func, args, timeout, name=info.name)
        return info.task_id

    async def _run(
        self,
        info: TaskInfo,
        func: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        timeout: float | None,
    ) -> None:
        timeout = self.default_timeout if timeout is None else timeout
        info.scope.deadline = _deadline(timeout)
        try:
            with info.scope:
                async with self._global_limiter:
                    info.status = "running"
                    info.result = await func(*args)
                    info.status = "done"
        except anyio.get_cancelled_exc_class():
            # The whole group is being cancelled (shutdown): record it, then let it unwind.
            info.status = "cancelled"
            raise
        except Exception as exc:  # one task's failure must not take the group down
            info.exception, info.status = exc, "failed"
            logger.warning("aio task %s (%s) failed: %r", info.task_id, info.name, exc)
            return
        if info.scope.cancelled_caught and info.status != "cancelled":
            info.status = "timeout"

    def cancel_task(self, task_id: str) -> bool:
        """Cancel a pending or running task; return False if it is unknown or finished."""
        info = self.tasks.get(task_id)
        if info is None or info.status not in ("pending", "running"):
            return False
        info.scope.cancel()
        info.status = "cancelled"
        return True

    def get_task_status(self, task_id: str) -> dict[str, Any] | None:
        """Return the status of a task as a plain dict, or None for an unknown id."""
        info = self.tasks.get(task_id)
        if info is None:
            return None
        return {
            "task_id": info.task_id,
            "name": info.name,
            "status": info.status,
            "result": info.result,
            "error": repr(info.exception) if info.exception else None,
        }

    async def run_gather_with_concurrency(
        self, funcs: Iterable[Callable[[], Awaitable[Any]]], *, limit: int | None = None
    ) -> list[Any]:
        """Await every zero-argument coroutine function, at most `limit` at a time, in order."""
        return await gather_limited(funcs, limit=limit or self._global_limiter.total_tokens)

    async def run_in_thread(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run blocking `func(*args)` in a worker thread, within the thread capacity."""
        return await to_thread.run_sync(func, *args, limiter=self._thread_limiter)

    async def run_in_process(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run CPU-bound `func(*args)` in a worker process (it must be picklable)."""
        return await to_process.run_sync(func, *args, limiter=self._process_limiter)

    async def run_in_threads(self, func: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
        """Map `func` over `items` in threads; results keep the order of `items`."""
        return await gather_limited(
            [lambda i=i: self.run_in_thread(func, i) for i in items],
            limit=math.inf,
        )

    async def run_in_processes(self, func: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
        """Map `func` over `items` in processes; results keep the order of `items`."""
        return await gather_limited(
            [lambda i=i: self.run_in_process(func, i) for i in items],
            limit=math.inf,
        )


async def gather_limited(
    funcs: Iterable[Callable[[], Awaitable[Any]]], *, limit: float
) -> list[Any]:
    """Await every zero-argument coroutine function, at most `limit` at once, in order.

    The first exception cancels the rest and propagates (inside an ExceptionGroup).
    """
    funcs = list(funcs)
    results: list[Any] = [None] * len(funcs)
    limiter = anyio.CapacityLimiter(limit)

    async def run(index: int, func: Callable[[], Awaitable[Any]]) -> None:
        async with limiter:
            results[index] = await func()

    async with anyio.create_task_group() as tg:
        for index, func in enumerate(funcs):
            tg.start_soon(run, index, func)
    return results


def _deadline(timeout: float | None) -> float:
    return math.inf if not timeout else anyio.current_time() + timeout
