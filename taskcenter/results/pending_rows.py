"""PENDING rows for scheduled runs: a run waiting in a queue shows in the admin too.

A message with a `periodic_task_name` header (beat, a schedule's run-now) gets its
TaskResult row in PENDING as soon as it is published; ordinary submissions stay
write-free on publish (the API keeps its own Run records).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from celery import signals, states
from django.db import DatabaseError

from taskcenter.results.rows import rows_insert_pending

logger = logging.getLogger(__name__)


#: PENDING rows of scheduled runs (tuples in `rows.PENDING_COLUMNS` order) waiting to be
#: written in one statement. Only a process that calls `pending_buffer_start()` (beat)
#: buffers: at hundreds of dispatches a second, one INSERT per message would be most of
#: beat's work. That process flushes them itself,
#: after each dispatch batch has left (or drops them with `pending_discard()` when the
#: batch could not be published). Everyone else writes at once.
_pending_rows: list[tuple[Any, ...]] = []
_pending_lock = threading.Lock()
_pending_buffered = False
#: Rows per INSERT statement: beat's dispatch batches stay under this (MAX_BATCH).
PENDING_FLUSH_ROWS = 500


def pending_buffer_start() -> None:
    """Buffer PENDING rows in this process until `pending_flush()` (beat calls this)."""
    global _pending_buffered
    _pending_buffered = True


@signals.after_task_publish.connect(weak=False)
def _record_scheduled_run(
    sender: str | None = None, headers: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    """Store a PENDING row for a scheduled run just sent; never overwrite a later state.

    After the publish, not before: a message that never left leaves no row behind. If the
    worker already stored STARTED, the insert is ignored.
    """
    if not headers or not headers.get("periodic_task_name") or not headers.get("id"):
        return
    sent_at = datetime.now(UTC)
    row = (
        headers["id"],
        states.PENDING,
        sender,
        headers["periodic_task_name"],
        headers.get("argsrepr"),
        headers.get("kwargsrepr"),
        "application/json",
        "utf-8",
        sent_at,
        sent_at,
    )
    with _pending_lock:
        _pending_rows.append(row)
    if not _pending_buffered:
        pending_flush()


def pending_discard(*, task_ids: Iterable[str]) -> int:
    """Drop buffered PENDING rows of messages that were not published; return how many."""
    drop = set(task_ids)
    with _pending_lock:
        kept = [row for row in _pending_rows if row[0] not in drop]
        dropped = len(_pending_rows) - len(kept)
        _pending_rows[:] = kept
    return dropped


def pending_flush() -> int:
    """Write the buffered PENDING rows, existing rows winning; return the count.

    PENDING_FLUSH_ROWS rows per statement (`rows.rows_insert_pending`), in autocommit.
    """
    with _pending_lock:
        rows = _pending_rows[:]
        _pending_rows.clear()
    if not rows:
        return 0
    try:
        rows_insert_pending(rows, chunk=PENDING_FLUSH_ROWS)
    except DatabaseError:
        # Visibility of a queued run is not worth failing the dispatch that already happened.
        logger.warning("could not record PENDING for %d scheduled runs", len(rows), exc_info=True)
    return len(rows)
