"""What the AnyIO manager knows of one task: its state, result or error, and timings."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import anyio


class TaskState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed out"

    @property
    def finished(self) -> bool:
        return self not in (TaskState.PENDING, TaskState.RUNNING)


class TaskCancelledError(RuntimeError):
    """The awaited task was cancelled before it finished."""


class TaskRecord:
    """One added task; slots keep 100,000 of them small."""

    __slots__ = (
        "args",
        "cancel_requested",
        "created_at",
        "done",
        "error",
        "finished_at",
        "func",
        "meta",
        "name",
        "result",
        "scope",
        "started_at",
        "state",
        "task_id",
        "timeout",
    )

    def __init__(
        self,
        task_id: str,
        name: str,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        timeout: float | None,
        meta: dict[str, Any] | None,
        created_at: float,
    ) -> None:
        self.task_id = task_id
        self.name = name
        self.func = func
        self.args = args
        self.timeout = timeout
        self.meta = meta
        self.state = TaskState.PENDING
        self.result: Any = None
        self.error: BaseException | None = None
        self.scope: anyio.CancelScope | None = None
        self.done: anyio.Event | None = None
        self.cancel_requested = False
        self.created_at = created_at
        self.started_at: float | None = None
        self.finished_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The status `TaskManager.get_task_status` answers (times are Unix seconds)."""
        return {
            "task_id": self.task_id,
            "name": self.name,
            "status": str(self.state),
            "result": self.result,
            "error": repr(self.error) if self.error is not None else None,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    def outcome(self) -> Any:
        """Return the result of a finished task, or raise what ended it."""
        if self.state is TaskState.DONE:
            return self.result
        if self.state is TaskState.FAILED:
            raise self.error  # type: ignore[misc]
        if self.state is TaskState.TIMED_OUT:
            raise TimeoutError(f"task {self.task_id} ({self.name}) timed out after {self.timeout}s")
        raise TaskCancelledError(f"task {self.task_id} ({self.name}) was cancelled")
