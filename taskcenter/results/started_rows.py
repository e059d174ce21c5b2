"""Deferred STARTED rows: a task's STARTED state is stored only if it is still running.

With `task_track_started`, Celery stores STARTED before every task and the final state
after it: two committed writes per task, which on MySQL is most of what storing results
costs for short jobs. A run that ends within a fraction of a second is never seen as
STARTED by anyone reading the admin or the API, so this writer holds the STARTED row for
`delay` seconds and only writes it if the task has not reached another state by then.
The final row still carries the real start time, so queue wait and duration are exact.

One writer thread per worker process; `finish()` cancels a pending row and, if the thread
is writing it at that moment, waits for it, so a STARTED row never lands after a later
state of the same run.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

#: How a row is written: `write(row, alias)` upserts one TaskResult row.
Write = Callable[[dict[str, Any], str], None]


@dataclass(frozen=True)
class _Pending:
    started_at: datetime
    alias: str
    build: Callable[[], dict[str, Any]]


class StartedRows:
    """Hold STARTED rows for `delay` seconds; write the ones whose task is still running."""

    def __init__(self, *, delay: float, write: Write):
        self.delay = delay
        self._write = write
        self._lock = threading.Condition()
        #: The thread holds this while it writes; `finish()` takes it to wait for a write.
        self._writing = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._due: deque[tuple[float, str]] = deque()
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        """Forget the parent's rows and thread in a forked child (prefork pool)."""
        self._lock = threading.Condition()
        self._writing = threading.Lock()
        self._pending = {}
        self._due = deque()
        self._thread = None

    def defer(
        self,
        task_id: str,
        *,
        started_at: datetime,
        alias: str,
        build: Callable[[], dict[str, Any]],
    ) -> None:
        """Write `build()` (the STARTED row) in `delay` seconds unless `finish()` comes first."""
        with self._lock:
            self._pending[task_id] = _Pending(started_at, alias, build)
            # The delay is the same for every row, so due times arrive in order and the
            # thread only needs waking when it was idle (it sleeps until the first due).
            idle = not self._due
            self._due.append((time.monotonic() + self.delay, task_id))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="taskcenter-started-rows", daemon=True
                )
                self._thread.start()
            elif idle:
                self._lock.notify()

    def finish(self, task_id: str) -> datetime | None:
        """Cancel the pending STARTED row of `task_id`; return its start time if it had one.

        Called before any later state of the task is stored: if the thread is writing the
        STARTED row right now, wait for it, so the later state is written after it.
        """
        with self._writing, self._lock:
            pending = self._pending.pop(task_id, None)
        return pending.started_at if pending else None

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._due:
                    self._lock.wait()
                due, task_id = self._due[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                self._due.popleft()
            with self._writing:
                with self._lock:
                    pending = self._pending.pop(task_id, None)
                if pending is not None:
                    self._store(pending)

    def _store(self, pending: _Pending) -> None:
        """Write one STARTED row; a dropped connection is reopened once."""
        for attempt in (1, 2):
            try:
                self._write(pending.build(), pending.alias)
                return
            except DatabaseError:
                connections[pending.alias].close()
                if attempt == 2:
                    logger.warning("could not store a STARTED row", exc_info=True)
