"""Record each state of an AnyIO run as its `TaskResult` row, so any process can read it.

The manager's listener: a run's task carries `meta["run"]`, and each state it reaches
(running, then done, failed, timed out or cancelled) is written in a worker thread in
the shape a Celery worker gives it (STARTED, SUCCESS, FAILURE, REVOKED), through
`taskcenter.results.rows`.
"""

from __future__ import annotations

import os
import socket
import traceback
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from celery import states
from django.db import close_old_connections

from taskcenter.aio.records import TaskRecord, TaskState
from taskcenter.results.rows import row_store_inprocess

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


def _store(record: TaskRecord, state: TaskState, result: Any, text: str | None) -> None:
    close_old_connections()
    meta = record.meta or {}
    row_store_inprocess(
        task_id=record.task_id,
        task_name=record.name,
        status=STATE_OF[state],
        result=result,
        kwargs=meta.get("kwargs") if state is TaskState.RUNNING else None,
        worker=worker_name(),
        created_at=_when(record.created_at),  # type: ignore[arg-type]
        started_at=_when(record.started_at),
        traceback=text,
    )


async def run_record(record: TaskRecord) -> None:
    """Store the state `record` just reached, if it is a recorded run (TaskManager listener)."""
    if not record.meta or not record.meta.get("run"):
        return
    state = record.state
    result, text = _outcome(record)
    await to_thread.run_sync(_store, record, state, result, text)
