"""Record each state of an AnyIO run as its `TaskResult` row, so any process can read it.

The manager's listener: a run's task carries `meta["run"]`, and each state it reaches
(running, then done, failed, timed out or cancelled) is written in a worker thread in
the shape a Celery worker gives it (STARTED, SUCCESS, FAILURE, REVOKED), through
`taskcenter.results.rows`. `run_record` writes each state as it comes; `RunRecorder`,
which a web process's runtime uses, writes them in batches off the runners' path and
stores STARTED only for a run still going after TASKCENTER_RESULT_STARTED_DELAY, as the
Celery results backend does: a short run costs one statement, shared with its neighbours.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import traceback
from datetime import UTC, datetime
from typing import Any

import anyio
from anyio import to_thread
from celery import states
from django.db import close_old_connections

from taskcenter.aio.records import TaskRecord, TaskState
from taskcenter.results.rows import row_inprocess, rows_store_inprocess

logger = logging.getLogger(__name__)

#: The Celery state each manager state is stored as.
STATE_OF = {
    TaskState.RUNNING: states.STARTED,
    TaskState.DONE: states.SUCCESS,
    TaskState.FAILED: states.FAILURE,
    TaskState.TIMED_OUT: states.FAILURE,
    TaskState.CANCELLED: states.REVOKED,
}


def worker_name() -> str:
    """This process as a run's `worker` column shows it (read at call time: forks change it)."""
    return f"aio@{socket.gethostname()}:{os.getpid()}"


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _outcome(record: TaskRecord) -> tuple[Any, str | None]:
    """The stored result of a record and its traceback text, as a Celery worker stores them."""
    state = record.state
    if state is TaskState.DONE:
        return record.result, None
    if state is TaskState.FAILED and record.error is not None:
        error = record.error
        text = "".join(traceback.format_exception(error))
        message = {"exc_type": type(error).__name__, "exc_message": str(error)}
        return {**message, "exc_module": type(error).__module__}, text
    if state is TaskState.TIMED_OUT:
        message = f"timed out after {record.timeout:g} s"
        return {"exc_type": "TimeoutError", "exc_message": message}, None
    if state is TaskState.CANCELLED:
        why = "revoked" if record.cancel_requested else "cancelled when its web process stopped"
        return {"exc_type": "TaskRevokedError", "exc_message": why}, None
    return None, None


def _row(record: TaskRecord) -> dict[str, Any]:
    state = record.state
    result, text = _outcome(record)
    meta = record.meta or {}
    return row_inprocess(
        task_id=record.task_id,
        task_name=record.name,
        status=STATE_OF[state],
        result=result,
        kwargs=meta.get("kwargs"),
        worker=worker_name(),
        created_at=_when(record.created_at),  # type: ignore[arg-type]
        started_at=_when(record.started_at),
        traceback=text,
    )


def _write(rows: list[dict[str, Any]]) -> None:
    close_old_connections()
    rows_store_inprocess(rows)


def _is_run(record: TaskRecord) -> bool:
    return bool(record.meta and record.meta.get("run"))


async def run_record(record: TaskRecord) -> None:
    """Store the state `record` just reached, if it is a recorded run (TaskManager listener)."""
    if _is_run(record):
        await to_thread.run_sync(_write, [_row(record)])


class RunRecorder:
    """Batch the states of runs; `serve` writes them, the manager's listener queues them.

    A later state of a run replaces its queued earlier one (a run that ends before its
    STARTED row is due is stored once, final). Writes keep the order states came in: one
    batch at a time.
    """

    def __init__(self, *, started_delay: float) -> None:
        self.started_delay = started_delay
        self._rows: dict[str, tuple[dict[str, Any], float]] = {}
        self._wake = anyio.Event()

    async def __call__(self, record: TaskRecord) -> None:
        self.queue(record)

    def queue(self, record: TaskRecord) -> None:
        """Queue the state `record` just reached, if it is a recorded run."""
        if not _is_run(record):
            return
        row = _row(record)
        due = anyio.current_time()
        if record.state is TaskState.RUNNING:
            due += self.started_delay
        self._rows[record.task_id] = (row, due)
        self._wake.set()  # `serve` sleeps until its earliest due row; this one may be earlier

    async def serve(self) -> None:
        """Write queued states as they fall due, until cancelled (then `flush` the rest)."""
        while True:
            now = anyio.current_time()
            ready = [task_id for task_id, (_, due) in self._rows.items() if due <= now]
            if ready:
                batch = [self._rows.pop(task_id)[0] for task_id in ready]
                with anyio.CancelScope(shield=True):  # taken out of the queue: must land
                    await self._write(batch)
                continue
            next_due = min((due for _, due in self._rows.values()), default=math.inf)
            with anyio.move_on_after(next_due - now):
                await self._wake.wait()
            self._wake = anyio.Event()

    async def flush(self) -> None:
        """Write every queued state now (at shutdown: the final ones matter most)."""
        rows = [row for row, _ in self._rows.values()]
        self._rows.clear()
        if rows:
            with anyio.CancelScope(shield=True):
                await self._write(rows)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            await to_thread.run_sync(_write, rows)
        except Exception:
            logger.exception("aio: could not store %d run state(s)", len(rows))
