"""Readiness checks: the database, the broker and (optionally) a live worker.

Each check runs in its own daemon thread and all are waited for together at most the
probe timeout, so a dependency that hangs makes `/readyz` answer 503 in about that long;
a thread left behind ends when its socket gives up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from taskcenter.dispatch.broker import broker_ping
from taskcenter.monitoring.processes import processes_online_count

logger = logging.getLogger(__name__)


@dataclass
class Readiness:
    """The outcome of the readiness checks: which passed, and why each other failed."""

    checks: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _worker() -> None:
    if processes_online_count(role="worker") < 1:
        stale = settings.TASKCENTER_HEARTBEAT_STALE_AFTER
        raise LookupError(f"no worker heartbeat in the last {stale:g}s")


def _run_into(check: Callable[[], None], box: queue.SimpleQueue[str | None]) -> None:
    try:
        check()
    except Exception as exc:
        box.put(f"{type(exc).__name__}: {exc}"[:300])
    else:
        box.put(None)
    finally:
        # The check's thread ends here: its database connection must not outlive it.
        connection.close()


def readiness_check() -> Readiness:
    """Check every dependency the task center needs, all bounded by the probe timeout."""
    timeout = float(settings.TASKCENTER_PROBE_TIMEOUT)
    checks: dict[str, Callable[[], None]] = {
        "database": _database,
        "broker": lambda: broker_ping(timeout=timeout),
    }
    if settings.TASKCENTER_READYZ_REQUIRE_WORKER:
        checks["worker"] = _worker
    boxes: dict[str, queue.SimpleQueue[str | None]] = {}
    for name, check in checks.items():
        boxes[name] = queue.SimpleQueue()
        threading.Thread(
            target=_run_into, args=(check, boxes[name]), name=f"readyz-{name}", daemon=True
        ).start()
    deadline = time.monotonic() + timeout
    outcome = Readiness()
    for name, box in boxes.items():
        try:
            error = box.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            error = f"no answer within {timeout:g}s"
        outcome.checks[name] = error is None
        if error is not None:
            outcome.errors[name] = error
            logger.warning("readiness: %s failed: %s", name, error)
    return outcome
