"""Deferred STARTED rows: written only for runs still going, never after a later state."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from taskcenter.results.started_rows import StartedRows
from tests.conftest import wait_for

DELAY = 0.2


class Recorder:
    """A write function that remembers what it wrote (optionally holding each write)."""

    def __init__(self, hold: threading.Event | None = None):
        self.rows: list[dict[str, Any]] = []
        self.writing = threading.Event()
        self.hold = hold

    def __call__(self, row: dict[str, Any], alias: str) -> None:
        self.writing.set()
        if self.hold is not None:
            self.hold.wait(5)
        self.rows.append(row)


def _defer(rows: StartedRows, task_id: str) -> datetime:
    started_at = datetime.now(UTC)
    rows.defer(
        task_id,
        started_at=started_at,
        alias="default",
        build=lambda: {"task_id": task_id, "status": "STARTED", "date_started": started_at},
    )
    return started_at


def test_a_run_that_ends_within_the_delay_never_writes_its_started_row():
    write = Recorder()
    rows = StartedRows(delay=DELAY, write=write)

    started_at = _defer(rows, "short")
    returned = rows.finish("short")
    time.sleep(DELAY * 3)  # an observation window: nothing may be written in it

    assert returned == started_at
    assert write.rows == []
    assert rows.pending_count() == 0


def test_a_run_still_going_after_the_delay_gets_its_started_row():
    write = Recorder()
    rows = StartedRows(delay=DELAY, write=write)

    began = time.monotonic()
    _defer(rows, "long")
    wait_for(lambda: write.rows, timeout=5, interval=0.01, what="the STARTED row")

    assert time.monotonic() - began >= DELAY
    assert write.rows[0]["task_id"] == "long"
    # The final state that follows needs no start time: the row already has it.
    assert rows.finish("long") is None


def test_finishing_waits_for_a_started_write_in_progress():
    # Given the writer in the middle of writing a run's STARTED row
    hold = threading.Event()
    write = Recorder(hold=hold)
    rows = StartedRows(delay=0.01, write=write)
    _defer(rows, "racing")
    assert write.writing.wait(5)

    # When the run finishes meanwhile
    finished = threading.Event()
    threading.Thread(target=lambda: (rows.finish("racing"), finished.set())).start()

    # Then its final state waits until the STARTED row is written, so it lands after it
    assert not finished.wait(0.2)
    hold.set()
    assert finished.wait(5)
    assert [row["task_id"] for row in write.rows] == ["racing"]


#: Long enough that finishing ten runs fits well inside it even on a loaded 2-core machine.
MANY_DELAY = 1.0


def test_many_runs_keep_their_order_and_only_the_long_ones_are_written():
    write = Recorder()
    rows = StartedRows(delay=MANY_DELAY, write=write)

    # Given 20 runs started, and the even ones finished (before the delay, unless the
    # machine stalled: `finish` answers None for a run whose row was already written)
    for n in range(20):
        _defer(rows, f"run-{n}")
    finished_in_time = {n for n in range(0, 20, 2) if rows.finish(f"run-{n}") is not None}
    long_ones = [n for n in range(20) if n not in finished_in_time]

    # Then exactly the runs still going get their rows, in the order they started
    wait_for(
        lambda: len(write.rows) >= len(long_ones),
        timeout=60,
        interval=0.01,
        what=f"{len(long_ones)} STARTED rows",
    )
    assert finished_in_time, "no run finished within the delay: nothing was proven"
    assert [row["task_id"] for row in write.rows] == [f"run-{n}" for n in long_ones]
    assert rows.pending_count() == 0
