"""Record every run of a local job from APScheduler's events, written in batches.

The listener runs on the scheduler's loop and only appends a flat tuple to a deque: no
I/O, no scrubbing, no model instances. `flush()` (called on a separate thread every
TASKCENTER_LOCAL_RECORD_INTERVAL) scrubs errors and writes everything buffered in one
multi-row INSERT. While the database is away rows stay buffered (up to
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
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from taskcenter.local.scheduler import NOT_LEADING, Timed
from taskcenter.services.scrub import scrub

logger = logging.getLogger(__name__)

#: The events that end a run (or a run not made).
EVENT_MASK = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
#: Longest traceback kept: the last frames are the ones that explain a failure.
MAX_TRACEBACK = 20_000
#: Rows per INSERT: one statement stays well under MySQL's max_allowed_packet.
INSERT_BATCH = 2_000
#: Bytes of one INSERT at most: well under MySQL's 16 MiB max_allowed_packet default.
MAX_STATEMENT = 4_000_000
EMPTY = "''"
#: The LocalJobRun columns written, in the order of each buffered row.
COLUMNS = (
    "job",
    "scheduled_at",
    "started_at",
    "finished_at",
    "duration",
    "outcome",
    "error",
    "traceback",
    "process",
    "created_at",
)


def _scrub_traceback(text: str) -> str:
    lines = "\n".join(scrub(line) for line in text.splitlines())
    return lines[-MAX_TRACEBACK:]


class Recorder:
    """Buffer run outcomes from APScheduler events and write them as LocalJobRun rows.

    Each buffered run is a flat tuple of strings, numbers and datetimes: the garbage
    collector stops tracking such tuples, so a full buffer costs no collection time.
    """

    def __init__(self, *, process: str, max_buffer: int) -> None:
        self.process = process
        self.max_buffer = max_buffer
        #: APScheduler job id -> catalog job name, for the one-off run-now jobs.
        self.run_now_ids: dict[str, str] = {}
        self._buffer: deque[tuple[Any, ...]] = deque()
        self._flush_lock = threading.Lock()
        self._literals: dict[str, str] = {}
        self.dropped = 0

    def listen(self, event: JobEvent) -> None:
        """APScheduler listener: note the outcome (cheap; runs on the scheduler's loop)."""
        code = event.code
        job_id = event.job_id
        name = self.run_now_ids.get(job_id)
        if name is None:
            name = job_id
            times = getattr(event, "scheduled_run_times", None)  # max-instances events
            scheduled = times[-1] if times else getattr(event, "scheduled_run_time", None)
        else:
            scheduled = None
        if code == EVENT_JOB_EXECUTED:
            retval = event.retval
            if retval is NOT_LEADING:
                return
            if isinstance(retval, Timed):
                item = ("success", name, scheduled, retval.started, retval.finished, "", "")
            else:
                now = time.time()
                item = ("success", name, scheduled, now, now, "", "")
        elif code == EVENT_JOB_ERROR:
            exc = event.exception
            now = time.time()
            started, finished = getattr(exc, "__dict__", {}).get("taskcenter_timing", (now, now))
            error = f"{type(exc).__name__}: {exc}"
            item = ("failed", name, scheduled, started, finished, error, event.traceback or "")
        else:
            outcome = "missed" if code == EVENT_JOB_MISSED else "skipped"
            item = (outcome, name, scheduled, None, None, "", "")
        self._buffer.append(item)
        if len(self._buffer) > self.max_buffer:
            self._buffer.popleft()
            self.dropped += 1

    def add_interrupted(self, *, job: str, started: float) -> None:
        """Record a run still going when the process had to exit."""
        error = "the process stopped before the run finished"
        self._buffer.append(("failed", job, None, started, time.time(), error, ""))

    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Write everything buffered; return how many rows. Keeps them when the DB fails."""
        with self._flush_lock:
            taken = [self._buffer.popleft() for _ in range(len(self._buffer))]
            if not taken:
                return 0
            try:
                close_old_connections()
                self._insert(taken)
            except Exception:
                logger.warning(
                    "could not record %d local job run(s); keeping them for the next try",
                    len(taken),
                    exc_info=True,
                )
                self._buffer.extendleft(reversed(taken))
                close_old_connections()
                return 0
            if self.dropped:
                logger.warning("dropped %d local job run record(s): buffer full", self.dropped)
                self.dropped = 0
            return len(taken)

    def _insert(self, items: list[tuple[Any, ...]]) -> None:
        if connection.vendor == "mysql":
            self._insert_mysql(items)
        else:
            self._insert_generic(items)

    def _insert_mysql(self, items: list[tuple[Any, ...]]) -> None:
        """Multi-row INSERTs composed here: about 2 µs of Python per row.

        The flush shares the interpreter with the scheduler's loop; every millisecond it
        holds the GIL can delay a job's start, so times go as integer microseconds into
        `TIMESTAMPADD` (UTC, as Django stores them) and the few distinct strings (job,
        outcome, process) are escaped once and cached.
        """
        from taskcenter.models import LocalJobRun

        connection.ensure_connection()
        escape = connection.connection.literal
        cache = self._literals

        def lit(value: str) -> str:
            found = cache.get(value)
            if found is None:
                found = escape(value).decode()
                if len(cache) < 10_000:
                    cache[value] = found
            return found

        table = connection.ops.quote_name(LocalJobRun._meta.db_table)
        head = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES "
        process = lit(self.process)
        values: list[str] = []
        size = 0
        with transaction.atomic(), connection.cursor() as cursor:
            for outcome, job, scheduled, started, finished, error, tb in items:
                if started is None:
                    times = "NULL,NULL,NULL"
                else:
                    times = f"{_ts(started)},{_ts(finished)},{finished - started!r}"
                text = (
                    f"({lit(job)},{'NULL' if scheduled is None else _ts(scheduled.timestamp())},"
                    f"{times},{lit(outcome)},"
                    f"{escape(scrub(error)).decode() if error else EMPTY},"
                    f"{escape(_scrub_traceback(tb)).decode() if tb else EMPTY},"
                    f"{process},UTC_TIMESTAMP(6))"
                )
                values.append(text)
                size += len(text)
                if len(values) >= INSERT_BATCH or size > MAX_STATEMENT:
                    cursor.execute(head + ",".join(values))
                    values, size = [], 0
            if values:
                cursor.execute(head + ",".join(values))

    def _insert_generic(self, items: list[tuple[Any, ...]]) -> None:
        from taskcenter.models import LocalJobRun

        ops = connection.ops
        table = ops.quote_name(LocalJobRun._meta.db_table)
        columns = ", ".join(ops.quote_name(c) for c in COLUMNS)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
        now = ops.adapt_datetimefield_value(timezone.now())
        rows = []
        for outcome, job, scheduled, started, finished, error, tb in items:
            rows.append(
                (
                    job,
                    ops.adapt_datetimefield_value(scheduled),
                    ops.adapt_datetimefield_value(_dt(started)),
                    ops.adapt_datetimefield_value(_dt(finished)),
                    None if started is None else finished - started,
                    outcome,
                    scrub(error) if error else "",
                    _scrub_traceback(tb) if tb else "",
                    self.process,
                    now,
                )
            )
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(rows), INSERT_BATCH):
                cursor.executemany(sql, rows[start : start + INSERT_BATCH])


def _ts(epoch: float) -> str:
    return f"TIMESTAMPADD(MICROSECOND,{round(epoch * 1_000_000)},'1970-01-01')"


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
