"""Record every run of a local job from APScheduler's events, written in batches.

The listener runs on the scheduler's loop and only appends a tuple to a deque: no I/O,
no formatting. `flush()` (called on a separate thread every
TASKCENTER_LOCAL_RECORD_INTERVAL) scrubs errors and writes everything buffered in one
`bulk_create`. While the database is away rows stay buffered (up to
TASKCENTER_LOCAL_RECORD_BUFFER, oldest dropped first) and are written once it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from django.db import close_old_connections

from taskcenter.local.scheduler import NOT_LEADING, Timed
from taskcenter.services.scrub import scrub

logger = logging.getLogger(__name__)

#: The events that end a run (or a run not made).
EVENT_MASK = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
#: Longest traceback kept: the last frames are the ones that explain a failure.
MAX_TRACEBACK = 20_000
#: Rows per INSERT: one statement stays well under MySQL's max_allowed_packet.
INSERT_BATCH = 2_000


def _scrub_traceback(text: str) -> str:
    lines = "\n".join(scrub(line) for line in text.splitlines())
    return lines[-MAX_TRACEBACK:]


class Recorder:
    """Buffer run outcomes from APScheduler events and write them as LocalJobRun rows."""

    def __init__(self, *, process: str, max_buffer: int, names: dict[str, str] | None = None):
        self.process = process
        self.max_buffer = max_buffer
        #: APScheduler job id -> catalog job name, for the one-off run-now jobs.
        self.run_now_ids: dict[str, str] = {} if names is None else names
        self._buffer: deque[tuple[Any, ...]] = deque()
        self._flush_lock = threading.Lock()
        self.dropped = 0

    def listen(self, event: JobEvent) -> None:
        """APScheduler listener: note the event (cheap; runs on the scheduler's loop)."""
        if event.code == EVENT_JOB_EXECUTED and event.retval is NOT_LEADING:
            return
        self._buffer.append((event.code, event.job_id, event, time.time()))
        if len(self._buffer) > self.max_buffer:
            self._buffer.popleft()
            self.dropped += 1

    def add_interrupted(self, *, job: str, started: float) -> None:
        """Record a run still going when the process had to exit."""
        self._buffer.append(("interrupted", job, started, time.time()))

    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Write everything buffered; return how many rows. Keeps them when the DB fails."""
        from taskcenter.models import LocalJobRun

        with self._flush_lock:
            taken = [self._buffer.popleft() for _ in range(len(self._buffer))]
            if not taken:
                return 0
            rows = [LocalJobRun(**self._fields(item)) for item in taken]
            try:
                close_old_connections()
                LocalJobRun.objects.bulk_create(rows, batch_size=INSERT_BATCH)
            except Exception:
                logger.warning(
                    "could not record %d local job run(s); keeping them for the next try",
                    len(rows),
                    exc_info=True,
                )
                self._buffer.extendleft(reversed(taken))
                close_old_connections()
                return 0
            if self.dropped:
                logger.warning("dropped %d local job run record(s): buffer full", self.dropped)
                self.dropped = 0
            return len(rows)

    def _fields(self, item: tuple[Any, ...]) -> dict[str, Any]:
        code, job_id, payload, noted = item
        if code == "interrupted":
            started = _dt(payload)
            return {
                "job": job_id,
                "started_at": started,
                "finished_at": _dt(noted),
                "duration": noted - payload,
                "outcome": "failed",
                "error": "the process stopped before the run finished",
                "process": self.process,
            }
        event: JobEvent = payload
        name = self.run_now_ids.get(job_id, job_id)
        scheduled = None
        if job_id not in self.run_now_ids:
            times = getattr(event, "scheduled_run_times", None)  # max-instances events
            scheduled = times[-1] if times else getattr(event, "scheduled_run_time", None)
        fields: dict[str, Any] = {"job": name, "scheduled_at": scheduled, "process": self.process}
        if code == EVENT_JOB_EXECUTED:
            retval = event.retval
            started, finished = (
                (retval.started, retval.finished) if isinstance(retval, Timed) else (noted, noted)
            )
            fields.update(outcome="success")
        elif code == EVENT_JOB_ERROR:
            exc = event.exception
            started, finished = getattr(exc, "__dict__", {}).get(
                "taskcenter_timing", (noted, noted)
            )
            fields.update(
                outcome="failed",
                error=scrub(f"{type(exc).__name__}: {exc}"),
                traceback=_scrub_traceback(event.traceback or ""),
            )
        else:
            outcome = "missed" if code == EVENT_JOB_MISSED else "skipped"
            return {**fields, "outcome": outcome}
        fields.update(
            started_at=_dt(started), finished_at=_dt(finished), duration=finished - started
        )
        return fields


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
