"""A worker's durable heartbeat: a timer thread writing its `ProcessHeartbeat` row.

A broadcast ping only answers for the workers alive right now, and only if they reply in
time; this row, written every `TASKCENTER_HEARTBEAT_INTERVAL` seconds by the worker's
main process, tells the operations page, `/readyz`, `/metrics` and the alerts which
workers run, what they consume and since when one is silent. A clean shutdown writes a
last row marked stopped. The same timer samples the queues' depth once a minute.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from typing import Any

from celery import signals
from celery.worker import state
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from taskcenter.services.process_heartbeats import heartbeat_record
from taskcenter.services.queue_samples import queue_samples_record

logger = logging.getLogger(__name__)


class WorkerHeartbeat:
    """The timer of one worker process: reads the consumer, writes the row."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.hostname = str(consumer.hostname)
        self.started_at: datetime = timezone.now()
        self._sampled_minute: datetime | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tc-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.beat(stopped=True)
        connection.close()

    def details(self) -> dict[str, Any]:
        """Return the queues consumed, the pool's size and the jobs running now."""
        consumer = self.consumer
        try:
            queues = sorted(q.name for q in consumer.task_consumer.queues)
        except AttributeError:
            queues = sorted(consumer.app.amqp.queues.consume_from)
        pool = getattr(consumer.controller, "pool", None)
        concurrency = getattr(pool, "num_processes", None) or consumer.controller.concurrency
        running = sorted(str(r.name) for r in list(state.active_requests))
        return {
            "queues": queues,
            "concurrency": int(concurrency or 0),
            "jobs_running": len(running),
            "running": running[:50],
            "pool": type(pool).__module__.rsplit(".", 1)[-1] if pool is not None else "",
        }

    def beat(self, *, stopped: bool = False) -> None:
        """Write the row once; a database error is logged, the next beat tries again."""
        close_old_connections()
        details = self.details()
        if stopped:
            details["stopped"] = True
        try:
            heartbeat_record(
                ident=f"worker:{self.hostname}",
                role="worker",
                hostname=self.hostname,
                pid=os.getpid(),
                started_at=self.started_at,
                details=details,
            )
        except DatabaseError:
            logger.warning("could not write the heartbeat of %s", self.hostname, exc_info=True)
        if not stopped:
            self.sample_queues()

    def sample_queues(self) -> None:
        """Once a minute, store each queue's depth for the operations page's chart."""
        minute = timezone.now().replace(second=0, microsecond=0)
        if minute == self._sampled_minute:
            return
        try:
            queue_samples_record(timeout=float(settings.TASKCENTER_PROBE_TIMEOUT))
        except Exception:
            logger.warning("could not sample the queues", exc_info=True)
            return
        self._sampled_minute = minute

    def _loop(self) -> None:
        interval = float(settings.TASKCENTER_HEARTBEAT_INTERVAL)
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(interval)
        connection.close()


_current: WorkerHeartbeat | None = None


@signals.worker_ready.connect(weak=False)
def on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    """Start the heartbeat timer once the worker consumes its queues."""
    global _current
    if sender is None or _current is not None or settings.TASKCENTER_HEARTBEAT_INTERVAL <= 0:
        return
    _current = WorkerHeartbeat(sender)
    _current.start()


@signals.worker_shutdown.connect(weak=False)
def on_worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    """Write the last heartbeat, marked stopped, so the page shows a clean stop at once."""
    global _current
    if _current is not None:
        _current.stop()
        _current = None
