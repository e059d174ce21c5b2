"""A run's queue wait and duration, in seconds, from its result row's timestamps.

Why a floor at zero: a row's `date_created` is stamped by whichever process writes it
first, the worker's start time comes from another host's clock, and a run whose STARTED
row was deferred gets its row created after it started; the wait is never negative.
"""

from __future__ import annotations

from datetime import datetime


def queue_wait_seconds(*, created: datetime | None, started: datetime | None) -> float | None:
    """Return the time from enqueue to start (never below 0), or None before the start."""
    if created is None or started is None:
        return None
    return max(0.0, (started - created).total_seconds())


def duration_seconds(*, started: datetime | None, done: datetime | None) -> float | None:
    """Return the time from start to the final state (never below 0), or None."""
    if started is None or done is None:
        return None
    return max(0.0, (done - started).total_seconds())
