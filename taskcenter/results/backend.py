"""The results backend: django-celery-results' database backend, one statement per store.

Stock `store_result` costs a SELECT, a savepoint, an INSERT and a commit for the STARTED
state and a SELECT plus an UPDATE for the final one; on MySQL this subclass writes each
state with a single `INSERT ... ON DUPLICATE KEY UPDATE` in autocommit, into the same
table and columns, so the result admin, `AsyncResult` and retention work unchanged.
The STARTED row is written only for a run still going after a short delay
(`taskcenter.results.started_rows`): a run that ends sooner costs one write, not two.

Every message also carries its enqueue time (`enqueued_at` header, set on publish), which
becomes the row's `date_created`: `date_started - date_created` is then the real queue
wait, whoever sent the task (beat, the admin, the API). Scheduled runs get their PENDING
rows on publish (`taskcenter.results.pending_rows`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any

from celery import signals, states
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, router
from django_celery_results.backends.database import DatabaseBackend

from taskcenter.results.rows import row_upsert
from taskcenter.results.started_rows import StartedRows

ENQUEUED_AT = "enqueued_at"
logger = logging.getLogger(__name__)


@signals.before_task_publish.connect(weak=False)
def _stamp_enqueue_time(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Record when the message was sent, for the queue wait shown in the admin."""
    if headers is not None:
        headers.setdefault(ENQUEUED_AT, datetime.now(UTC).isoformat())


def _enqueued_at(request: Any, default: datetime) -> datetime:
    value = getattr(request, ENQUEUED_AT, None) if request is not None else None
    try:
        return datetime.fromisoformat(value) if value else default
    except (TypeError, ValueError):
        return default


#: MySQL/MariaDB client and server errors that mean the connection, not the statement,
#: failed: can't connect (2002, 2003), server gone or lost (2006, 2013, 2055), server
#: shutting down (1053), connection killed (1927, 4031).
CONNECTION_LOST_CODES = frozenset({1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031})


def _connection_lost(exc: BaseException) -> bool:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return code in CONNECTION_LOST_CODES


class ReconnectingDatabaseBackend(DatabaseBackend):
    """DatabaseBackend that stores a result again when the database connection was lost.

    Why: the stock backend retries only an InterfaceError, so a result finished while MySQL
    restarts (an OperationalError: server gone, connection refused) was lost and the run
    stayed STARTED. With `CELERY_RESULT_BACKEND_ALWAYS_RETRY` Celery retries with backoff;
    each retry starts on a new connection. It also keeps a late STARTED from replacing a
    final state, as the upsert backend does.
    """

    def _store_result(
        self,
        task_id: str,
        result: Any,
        status: str,
        traceback: Any = None,
        request: Any = None,
        using: str | None = None,
    ) -> Any:
        """Store as stock, except that a STARTED never replaces a final state.

        Why: a message delivered again after its run ended (an acknowledgement lost in a
        warm shutdown) stores STARTED before the task body can skip it, which hid the
        SUCCESS for good. Celery's own key-value backends refuse that overwrite too.
        """
        if status == states.STARTED and (
            self.TaskModel._default_manager.using(using)
            .filter(task_id=task_id, status__in=states.READY_STATES)
            .exists()
        ):
            return result
        return super()._store_result(task_id, result, status, traceback, request, using)

    def exception_safe_to_retry(self, exc: Exception) -> bool:
        if isinstance(exc, InterfaceError) or (
            isinstance(exc, OperationalError) and _connection_lost(exc)
        ):
            for conn in connections.all(initialized_only=True):
                conn.close()
            return True
        return super().exception_safe_to_retry(exc)


class UpsertDatabaseBackend(ReconnectingDatabaseBackend):
    """DatabaseBackend whose stores are one upsert each on MySQL (the ORM elsewhere)."""

    def _store_result(
        self,
        task_id: str,
        result: Any,
        status: str,
        traceback: Any = None,
        request: Any = None,
        using: str | None = None,
    ) -> Any:
        alias = using or router.db_for_write(self.TaskModel)
        connection = connections[alias]
        if connection.vendor != "mysql":
            return super()._store_result(task_id, result, status, traceback, request, using)
        now = datetime.now(UTC).replace(tzinfo=None)
        started = _started_rows()
        if status == states.STARTED and started.delay > 0:
            # Cheap on purpose: the row is only built if the run is still going later.
            started.defer(
                task_id,
                started_at=now,
                alias=alias,
                build=partial(self._row, task_id, result, status, traceback, request, now),
            )
            return result
        row = self._row(task_id, result, status, traceback, request, now)
        if status != states.STARTED:
            row["date_started"] = started.finish(task_id)
            if row["date_started"] is not None:
                row["date_created"] = min(row["date_created"], row["date_started"])
        row_upsert(row, alias)
        return result

    def _row(
        self,
        task_id: str,
        result: Any,
        status: str,
        traceback: Any,
        request: Any,
        now: datetime,
    ) -> dict[str, Any]:
        """Return the TaskResult columns of one state, as `rows.row_upsert` writes them."""
        content_type, content_encoding, encoded = self.encode_content(result)
        meta = {
            **self._get_meta_from_request(request),
            "children": self.current_task_children(request),
        }
        _, _, encoded_meta = self.encode_content(meta)
        extended = self._get_extended_properties(request, traceback)
        created = _enqueued_at(request, now)
        if created.tzinfo is not None:
            created = created.astimezone(UTC).replace(tzinfo=None)
        return {
            "task_id": task_id,
            "status": status,
            "result": encoded,
            "traceback": extended["traceback"] or traceback,
            "meta": encoded_meta,
            "content_encoding": content_encoding,
            "content_type": content_type,
            "periodic_task_name": extended["periodic_task_name"],
            "task_name": extended["task_name"],
            "task_args": extended["task_args"],
            "task_kwargs": extended["task_kwargs"],
            "worker": extended["worker"],
            "date_created": min(created, now),
            "date_started": now if status == states.STARTED else None,
            "date_done": now,
        }


_started: StartedRows | None = None


def _started_rows() -> StartedRows:
    """This process's deferred STARTED writer (TASKCENTER_RESULT_STARTED_DELAY seconds)."""
    global _started
    if _started is None:
        _started = StartedRows(delay=settings.TASKCENTER_RESULT_STARTED_DELAY, write=row_upsert)
    return _started
