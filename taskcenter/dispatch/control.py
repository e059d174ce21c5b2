"""A run once sent: report its progress from inside, read its state, revoke it."""

from __future__ import annotations

from typing import Any

from celery import current_task
from celery.result import AsyncResult

from config.celery import app


def report_progress(percent: float, message: str = "") -> None:
    """From inside a running job: store state PROGRESS with `percent` (0-100) for its run.

    Called outside a worker (a unit test calling the function directly) it does nothing.
    """
    task = current_task
    if task is None or task.request.called_directly or not task.request.id:
        return
    percent = max(0.0, min(100.0, float(percent)))
    task.update_state(state="PROGRESS", meta={"percent": percent, "message": message[:200]})


def status(task_id: str) -> str:
    """Return Celery's state for `task_id` (PENDING for ids it has never seen)."""
    return AsyncResult(task_id, app=app).state


def result(task_id: str, *, timeout: float | None = None) -> Any:
    """Wait up to `timeout` seconds for the task's return value (raises on failure)."""
    return AsyncResult(task_id, app=app).get(timeout=timeout, interval=0.1)


def revoke(task_id: str, *, terminate: bool = False) -> None:
    """Revoke a task: queued, it never runs; running, it is killed only with `terminate`."""
    app.control.revoke(task_id, terminate=terminate, signal="SIGTERM")
