"""Lightweight concurrent work on AnyIO: capacity limits, timeouts, cancellation, offload.

For work too small to be worth a broker round trip (checking a handful of URLs, fanning
out a few queries), run inside the current process. `TaskManager` keeps a bounded queue
of added tasks and runs them on at most `max_concurrency` runner tasks, each holding one
token of a global `CapacityLimiter` and taking queued tasks one after the other: adding a
task is O(1) and spawns nothing when every runner is busy, so a burst of 100,000 tasks
costs less than one task-group task each. Finished records are pruned beyond
`keep_finished`, so memory stays flat over a long run. Sync functions run in threads
under their own limiter, CPU-bound ones in processes under another.

Note: a thread started by `to_thread.run_sync` keeps running when the awaiting task is
cancelled (AnyIO cannot stop a thread); only the await is abandoned.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio import to_thread
from anyio.abc import TaskGroup

from taskcenter.aio.gather import gather_limited
from taskcenter.aio.offload import Offload
from taskcenter.aio.records import TaskCancelledError, TaskRecord, TaskState

logger = logging.getLogger(__name__)

Listener = Callable[[TaskRecord], Awaitable[None]]

__all__ = [
    "ManagerClosedError",
    "QueueFullError",
    "TaskCancelledError",
    "TaskManager",
    "TaskRecord",
    "TaskState",
    "gather_limited",
]


class QueueFullError(RuntimeError):
    """The manager already holds `max_queue` unfinished tasks."""


class ManagerClosedError(RuntimeError):
    """The manager is not started, or is shutting down."""


class TaskManager(Offload):
    """Run added tasks concurrently under capacity limits; use as `async with TaskManager()`."""

    def __init__(
        self,
        *,
        max_concurrency: int = 16,
        thread_capacity: int = 8,
        process_capacity: int = 2,
        max_queue: int = 1000,
        default_timeout: float | None = 30.0,
        keep_finished: int = 1000,
        drain_timeout: float | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.max_queue = max_queue
        self.default_timeout = default_timeout
        self.keep_finished = keep_finished
        self.drain_timeout = drain_timeout
        self.listener = listener
        self.global_limiter = anyio.CapacityLimiter(max_concurrency)
        self.thread_limiter = anyio.CapacityLimiter(thread_capacity)
        self.process_limiter = anyio.CapacityLimiter(process_capacity)
        self.counts: Counter[str] = Counter()
        self._tg: TaskGroup | None = None
        self._closed = True
        self._ids = itertools.count(1)
        self._records: dict[str, TaskRecord] = {}
        self._queue: deque[TaskRecord] = deque()
        self._finished: deque[str] = deque()
        self._unfinished = 0
        self._runners = 0
        self._idle: anyio.Event | None = None

    async def __aenter__(self) -> TaskManager:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        await self.shutdown(timeout=self.drain_timeout, cancel=exc_type is not None)

    @property
    def unfinished(self) -> int:
        """Tasks pending or running."""
        return self._unfinished

    def unfinished_ids(self) -> list[str]:
        """Ids of the tasks pending or running (a scan: for occasional checks, not hot paths)."""
        return [i for i, r in self._records.items() if not r.state.finished]

    async def start(self) -> None:
        """Open the task group every runner lives in."""
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._closed = False

    async def shutdown(self, *, timeout: float | None = None, cancel: bool = False) -> int:
        """Refuse new tasks, drain for up to `timeout` seconds (or cancel now); return cancelled.

        `timeout=None` waits for every task. Tasks still pending or running when the drain
        ends are cancelled and recorded as cancelled (the listener hears of each).
        """
        if self._tg is None:
            return 0
        self._closed = True
        if not cancel and self._unfinished:
            self._idle = anyio.Event()
            with anyio.move_on_after(math.inf if timeout is None else timeout):
                await self._idle.wait()
        cancelled = self._unfinished
        if cancelled:
            logger.warning("aio manager: cancelling %d unfinished task(s) at shutdown", cancelled)
        tg, self._tg = self._tg, None
        tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)
        # Tasks still queued when the runners were cancelled never started.
        while self._queue:
            record = self._queue.popleft()
            if record.state is TaskState.PENDING:
                await self._finish(record, TaskState.CANCELLED)
        return cancelled

    def add_task(
        self,
        func: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        timeout: float | None = None,
        task_id: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> str:
        """Queue `func(*args)` (a coroutine function, or a sync one run in a thread); return its id.

        Raises QueueFullError when `max_queue` tasks are unfinished, so a caller learns of
        overload at once instead of piling work up in memory, and ManagerClosedError when
        the manager is not running.
        """
        if self._closed:
            raise ManagerClosedError("the AnyIO task manager is not running")
        if self._unfinished >= self.max_queue:
            raise QueueFullError(f"{self._unfinished} tasks are already waiting or running")
        if task_id is None:
            task_id = str(next(self._ids))
        elif task_id in self._records:
            raise ValueError(f"task id {task_id} is already in use")
        record = TaskRecord(
            task_id,
            name or getattr(func, "__name__", "task"),
            func,
            args,
            self.default_timeout if timeout is None else timeout,
            meta,
            time.time(),
        )
        self._records[task_id] = record
        self._unfinished += 1
        self.counts["added"] += 1
        self._queue.append(record)
        if self._runners < self.global_limiter.total_tokens:
            self._runners += 1
            self._tg.start_soon(self._runner)  # type: ignore[union-attr]
        return task_id

    async def _runner(self) -> None:
        try:
            async with self.global_limiter:
                while self._queue:
                    record = self._queue.popleft()
                    if record.state is TaskState.PENDING:
                        await self._run(record)
        finally:
            self._runners -= 1

    async def _run(self, record: TaskRecord) -> None:
        record.state = TaskState.RUNNING
        record.started_at = time.time()
        if self.listener is not None:
            with anyio.CancelScope(shield=True):
                await self._notify(record)
        func, args = record.func, record.args
        record.func = record.args = None  # type: ignore[assignment]
        scope = record.scope = anyio.CancelScope()
        if record.timeout:
            scope.deadline = anyio.current_time() + record.timeout
        state = TaskState.DONE
        try:
            with scope:
                if inspect.iscoroutinefunction(func):
                    record.result = await func(*args)
                else:
                    record.result = await to_thread.run_sync(
                        func, *args, limiter=self.thread_limiter
                    )
        except anyio.get_cancelled_exc_class():
            # The manager itself is being cancelled (shutdown): record it, then unwind.
            with anyio.CancelScope(shield=True):
                await self._finish(record, TaskState.CANCELLED)
            raise
        except Exception as exc:  # one task's failure must not take the others down
            record.error = exc
            state = TaskState.FAILED
            logger.warning(
                "aio task %s (%s) failed: %r", record.task_id, record.name, exc, exc_info=exc
            )
        if scope.cancelled_caught:
            state = TaskState.CANCELLED if record.cancel_requested else TaskState.TIMED_OUT
        await self._finish(record, state)

    async def _finish(self, record: TaskRecord, state: TaskState) -> None:
        self._settle(record, state)
        if self.listener is not None:
            with anyio.CancelScope(shield=True):
                await self._notify(record)

    def _settle(self, record: TaskRecord, state: TaskState) -> None:
        record.state = state
        record.finished_at = time.time()
        record.scope = None
        self._unfinished -= 1
        self.counts[state.value] += 1
        self._finished.append(record.task_id)
        while len(self._finished) > self.keep_finished:
            self._records.pop(self._finished.popleft(), None)
        if record.done is not None:
            record.done.set()
        if self._idle is not None and not self._unfinished:
            self._idle.set()

    async def _notify(self, record: TaskRecord) -> None:
        try:
            await self.listener(record)  # type: ignore[misc]
        except Exception:
            logger.exception("aio listener failed on task %s (%s)", record.task_id, record.name)

    def cancel_task(self, task_id: str) -> bool:
        """Cancel a pending or running task; return False if it is unknown or finished."""
        record = self._records.get(task_id)
        if record is None or record.state.finished:
            return False
        record.cancel_requested = True
        if record.state is TaskState.PENDING:
            # Left in the queue; its runner skips it. Settled now, not when reached.
            record.func = record.args = None  # type: ignore[assignment]
            self._settle(record, TaskState.CANCELLED)
            if self.listener is not None and self._tg is not None:
                self._tg.start_soon(self._notify, record)
        elif record.scope is not None:
            record.scope.cancel()
        return True

    def get_task_status(self, task_id: str) -> dict[str, Any] | None:
        """Return the status of a task as a plain dict, or None for an unknown (or pruned) id."""
        record = self._records.get(task_id)
        return None if record is None else record.as_dict()

    async def wait_task(self, task_id: str) -> Any:
        """Wait for a task to finish; return its result or raise what it raised.

        A cancelled task raises `TaskCancelledError`, a timed-out one `TimeoutError`.
        """
        record = self._records[task_id]
        if not record.state.finished:
            if record.done is None:
                record.done = anyio.Event()
            await record.done.wait()
        return record.outcome()


#: The name the design document uses.
AnyioTaskManager = TaskManager
