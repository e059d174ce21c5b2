"""The results backend: django-celery-results' database backend, one statement per store.

Stock `store_result` costs a SELECT, a savepoint, an INSERT and a commit for the STARTED
state and a SELECT plus an UPDATE for the final one; on MySQL this subclass writes each
state with a single `INSERT ... ON DUPLICATE KEY UPDATE` in autocommit, into the same
table and columns, so the result admin, `AsyncResult` and retention work unchanged.
The STARTED row is written only for a run still going after a short delay
(`taskcenter.started_rows`): a run that ends sooner costs one write, not two.

Every message also carries its enqueue time (`enqueued_at` header, set on publish), which
becomes the row's `date_created`: `date_started - date_created` is then the real queue
wait, whoever sent the task (beat, the admin, the API). A scheduled run (a message with a
`periodic_task_name` header) gets its PENDING row as soon as it is sent, so runs waiting
in a queue show in the admin too; ordinary submissions stay write-free on publish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from celery import signals, states
from django.conf import settings
from django.db import DatabaseError, connections, router
from django.db.models.constants import OnConflict
from django_celery_results.backends.database import DatabaseBackend

from taskcenter.started_rows import StartedRows

ENQUEUED_AT = "enqueued_at"
logger = logging.getLogger(__name__)

_COLUMNS = (
    "task_id",
    "status",
    "result",
    "traceback",
    "meta",
    "content_encoding",
    "content_type",
    "periodic_task_name",
    "task_name",
    "task_args",
    "task_kwargs",
    "worker",
    "date_created",
    "date_started",
    "date_done",
)
#: On a repeated store (STARTED, then SUCCESS) the row keeps when it was created and
#: started, and keeps extended fields a later state does not carry.
_UPDATES = ", ".join(
    f"{c} = VALUES({c})"
    if c
    in ("status", "result", "traceback", "meta", "content_encoding", "content_type", "date_done")
    else f"{c} = COALESCE(VALUES({c}), {c})"
    for c in _COLUMNS
    if c not in ("task_id", "date_created")
)
#: A STARTED row written late (see `taskcenter.started_rows`) never replaces a final state
#: another process already stored. `status` is assigned last: MySQL evaluates the
#: assignments left to right, so the other IF()s still see the old status.
_FINAL = "status IN ('SUCCESS', 'FAILURE', 'REVOKED')"
_STARTED_UPDATES = ", ".join(
    [
        f"{c} = IF({_FINAL}, {c}, VALUES({c}))"
        for c in ("result", "traceback", "meta", "content_encoding", "content_type", "date_done")
    ]
    + [
        f"{c} = COALESCE({c}, VALUES({c}))"
        for c in _COLUMNS
        if c
        not in (
            "task_id",
            "date_created",
            "status",
            "result",
            "traceback",
            "meta",
            "content_encoding",
            "content_type",
            "date_done",
        )
    ]
    + [f"status = IF({_FINAL}, status, VALUES(status))"]
)


@signals.before_task_publish.connect(weak=False)
def _stamp_enqueue_time(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Record when the message was sent, for the queue wait shown in the admin."""
    if headers is not None:
        headers.setdefault(ENQUEUED_AT, datetime.now(UTC).isoformat())


#: PENDING rows of scheduled runs waiting to be written in one statement. Only a process
#: that calls `pending_buffer_start()` (beat) buffers: at 333 dispatches a second, one
#: INSERT per message would be most of beat's work. That process flushes them itself,
#: after each dispatch batch has left (or drops them with `pending_discard()` when the
#: batch could not be published). Everyone else writes at once.
_pending_rows: list[tuple[Any, ...]] = []
_pending_lock = threading.Lock()
_pending_buffered = False
#: Columns of a PENDING row, in the order of the tuples in `_pending_rows`.
_PENDING_COLUMNS = (
    "task_id",
    "status",
    "task_name",
    "periodic_task_name",
    "task_args",
    "task_kwargs",
    "content_type",
    "content_encoding",
    "date_created",
    "date_done",
)
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

    One raw multi-row `INSERT IGNORE` (`INSERT OR IGNORE` on SQLite) per
    PENDING_FLUSH_ROWS rows, in autocommit: building TaskResult objects for
    `bulk_create` cost about a fifth of beat's CPU at 333 dispatches a second.
    """
    with _pending_lock:
        rows = _pending_rows[:]
        _pending_rows.clear()
    if not rows:
        return 0
    from django_celery_results.models import TaskResult

    connection = connections[router.db_for_write(TaskResult)]
    ops = connection.ops
    table = ops.quote_name(TaskResult._meta.db_table)
    fields = [TaskResult._meta.get_field(column) for column in _PENDING_COLUMNS]
    suffix = ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
    placeholders = f"({', '.join(['%s'] * len(_PENDING_COLUMNS))})"
    try:
        with connection.cursor() as cursor:
            for start in range(0, len(rows), PENDING_FLUSH_ROWS):
                chunk = rows[start : start + PENDING_FLUSH_ROWS]
                params: list[Any] = []
                for row in chunk:
                    params += row[:-2]
                    params += (
                        ops.adapt_datetimefield_value(row[-2]),
                        ops.adapt_datetimefield_value(row[-1]),
                    )
                cursor.execute(
                    f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {table} "
                    f"({', '.join(_PENDING_COLUMNS)}) "
                    f"VALUES {', '.join([placeholders] * len(chunk))} {suffix}",
                    params,
                )
    except DatabaseError:
        # Visibility of a queued run is not worth failing the dispatch that already happened.
        logger.warning("could not record PENDING for %d scheduled runs", len(rows), exc_info=True)
    return len(rows)


def _enqueued_at(request: Any, default: datetime) -> datetime:
    value = getattr(request, ENQUEUED_AT, None) if request is not None else None
    try:
        return datetime.fromisoformat(value) if value else default
    except (TypeError, ValueError):
        return default


class UpsertDatabaseBackend(DatabaseBackend):
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
        _upsert(row, alias)
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
        """Return the TaskResult columns of one state, as `_upsert` writes them."""
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


def _upsert(row: dict[str, Any], alias: str) -> None:
    """Write one result row in one statement (autocommit) on the MySQL database `alias`."""
    from django_celery_results.models import TaskResult

    connection = connections[alias]
    table = connection.ops.quote_name(TaskResult._meta.db_table)
    updates = _STARTED_UPDATES if row["status"] == states.STARTED else _UPDATES
    sql = (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) ON DUPLICATE KEY UPDATE {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [row[c] for c in _COLUMNS])


_started: StartedRows | None = None


def _started_rows() -> StartedRows:
    """This process's deferred STARTED writer (TASKCENTER_RESULT_STARTED_DELAY seconds)."""
    global _started
    if _started is None:
        _started = StartedRows(delay=settings.TASKCENTER_RESULT_STARTED_DELAY, write=_upsert)
    return _started
