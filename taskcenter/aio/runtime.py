"""One AnyIO task manager per process, started with the web server and drained when it stops.

Under uvicorn the ASGI lifespan (`config.asgi`) runs `runtime_lifespan` on the server's
event loop. Under gunicorn's threaded WSGI workers there is no lifespan and no loop, so
`runtime_start` (from `post_worker_init`) runs the same lifespan on an event loop thread
of its own, and `runtime_stop` (from `worker_exit`, after SIGTERM) drains it. Request
threads hand work over through a blocking portal either way. While runs are going, the
runtime looks once a second for revokes other processes asked for and cancels them.

A request does not wait for the event loop to take its run: admission is decided on the
request's own thread (a counter under a lock, bounded by `max_queue`, released as each
run ends) and the run is queued for the loop, woken with `call_soon_threadsafe`: about 5 µs, where
a portal call (a round trip to the loop thread) costs about 120 µs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio import to_thread
from anyio.from_thread import BlockingPortal, start_blocking_portal
from django.conf import settings

from taskcenter.aio.manager import ManagerClosedError, QueueFullError, TaskManager
from taskcenter.aio.recording import RunRecorder
from taskcenter.aio.records import TaskRecord, TaskState

logger = logging.getLogger(__name__)


@dataclass
class _Runtime:
    manager: TaskManager
    portal: BlockingPortal
    recorder: RunRecorder
    loop_thread: int
    loop: asyncio.AbstractEventLoop | None
    admitted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Admitted runs on their way to the manager (appended from request threads).
    inbox: deque = field(default_factory=deque)
    wake: anyio.Event = field(default_factory=anyio.Event)

    def admit(self) -> None:
        """Count one more run in, on the caller's thread; QueueFullError beyond max_queue."""
        with self.lock:
            if self.admitted >= self.manager.max_queue:
                raise QueueFullError(f"{self.admitted} runs are already waiting or running")
            self.admitted += 1

    def release(self) -> None:
        with self.lock:
            self.admitted -= 1

    def hand_over(self, item: tuple[Callable[..., Any], str, str, dict]) -> None:
        """From a request thread: queue an admitted run and wake `take_in` on the loop."""
        self.inbox.append(item)
        self.loop.call_soon_threadsafe(self._wake_up)  # type: ignore[union-attr]

    def _wake_up(self) -> None:
        self.wake.set()

    async def take_in(self) -> None:
        """On the loop, until cancelled: start every run handed over."""
        while True:
            self.take_all()
            self.wake = anyio.Event()
            if not self.inbox:
                await self.wake.wait()

    def take_all(self) -> None:
        while self.inbox:
            self.add(*self.inbox.popleft())

    def add(self, func: Callable[..., Any], name: str, task_id: str, meta: dict) -> None:
        """On the loop: start an admitted run; one the manager no longer takes ends REVOKED."""
        try:
            self.manager.add_task(func, name=name, task_id=task_id, meta=meta)
        except (ManagerClosedError, QueueFullError):
            self.release()
            record = TaskRecord(task_id, name, func, (), None, meta, time.time())
            record.state = TaskState.CANCELLED
            self.recorder.queue(record)

    async def listen(self, record: TaskRecord) -> None:
        if record.state.finished:
            self.release()
        await self.recorder(record)


_current: _Runtime | None = None
_thread_owned: tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager] | None
_thread_owned = None


def runtime_manager() -> TaskManager | None:
    """This process's manager, or None when no server started one."""
    return _current.manager if _current is not None else None


@contextlib.asynccontextmanager
async def runtime_lifespan() -> AsyncIterator[TaskManager]:
    """Run this process's manager for the duration of the block; drain it on the way out."""
    global _current
    recorder = RunRecorder(started_delay=settings.TASKCENTER_RESULT_STARTED_DELAY)
    manager = TaskManager(**settings.AIO_MANAGER)
    async with BlockingPortal() as portal, anyio.create_task_group() as helpers:
        helpers.start_soon(recorder.serve)
        helpers.start_soon(_cancel_revoked, manager)
        runtime = _Runtime(manager, portal, recorder, threading.get_ident(), _running_loop())
        manager.listener = runtime.listen
        helpers.start_soon(runtime.take_in)
        await manager.start()
        _current = runtime
        logger.info("aio runtime started (%s)", settings.AIO_MANAGER)
        try:
            yield manager
        finally:
            _current = None
            running = manager.unfinished
            cancelled = await manager.shutdown(timeout=settings.AIO_DRAIN_TIMEOUT)
            runtime.take_all()  # handed over too late: recorded as cancelled
            helpers.cancel_scope.cancel()
            await recorder.flush()  # shielded: the states of the last runs
            drained = running - cancelled
            logger.info("aio runtime stopped: %d run(s) drained, %d cancelled", drained, cancelled)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # trio: hand runs over through the portal instead
        return None


async def _cancel_revoked(manager: TaskManager) -> None:
    from taskcenter.selectors.runs import runs_revoke_requested

    while True:
        await anyio.sleep(settings.AIO_REVOKE_POLL_INTERVAL)
        ids = manager.unfinished_ids()
        if not ids:
            continue
        try:
            revoked = await to_thread.run_sync(functools.partial(runs_revoke_requested, ids=ids))
        except Exception:
            logger.exception("aio runtime: could not read revoke requests")
            continue
        for run_id in revoked:
            manager.cancel_task(run_id)


def runtime_start() -> None:
    """Run this process's manager on an event loop thread of its own (WSGI servers)."""
    global _thread_owned
    if _thread_owned is not None:
        return
    portal_cm = start_blocking_portal(backend="asyncio")
    portal = portal_cm.__enter__()
    lifespan_cm = portal.wrap_async_context_manager(runtime_lifespan())
    lifespan_cm.__enter__()
    _thread_owned = (portal_cm, lifespan_cm)


def runtime_stop() -> None:
    """Drain (AIO_DRAIN_TIMEOUT), then cancel, what `runtime_start` runs; stop its thread."""
    global _thread_owned
    if _thread_owned is None:
        return
    portal_cm, lifespan_cm = _thread_owned
    _thread_owned = None
    try:
        lifespan_cm.__exit__(None, None, None)
    finally:
        portal_cm.__exit__(None, None, None)


def _call(func: Callable[..., Any], *args: Any) -> Any:
    runtime = _current
    if runtime is None:
        raise ManagerClosedError("no AnyIO runtime runs in this process")
    if threading.get_ident() == runtime.loop_thread:
        return func(runtime.manager, *args)
    try:
        return runtime.portal.call(func, runtime.manager, *args)
    except RuntimeError as exc:
        if isinstance(exc, ManagerClosedError | QueueFullError):
            raise
        raise ManagerClosedError("the AnyIO runtime of this process is stopping") from exc


def runtime_submit(
    func: Callable[..., Any], *, name: str, task_id: str, meta: dict[str, Any]
) -> str:
    """Hand `func()` to this process's manager from any thread; return its task id.

    Raises QueueFullError when the manager is full and ManagerClosedError when none runs.
    """
    runtime = _current
    if runtime is None:
        raise ManagerClosedError("no AnyIO runtime runs in this process")
    runtime.admit()
    try:
        if runtime.loop is not None:
            runtime.hand_over((func, name, task_id, meta))
        else:
            _call(lambda _: runtime.add(func, name, task_id, meta))
    except RuntimeError as exc:  # the loop is closed: the process is stopping
        runtime.release()
        raise ManagerClosedError("the AnyIO runtime of this process is stopping") from exc
    return task_id


def runtime_cancel(task_id: str) -> bool:
    """Cancel a task of this process's manager; False when it is not running here."""
    if _current is None:
        return False
    return _call(TaskManager.cancel_task, task_id)
