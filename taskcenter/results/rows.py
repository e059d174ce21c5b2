"""The statements that write `TaskResult` rows; nothing else in the project writes them.

Written out rather than through the ORM because they sit on hot paths (every stored
state, every scheduled dispatch), where `get_or_create` and `bulk_create` cost several
times the statement itself. Table and column names come from the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from celery import states
from django.db import connections, router
from django.db.models.constants import OnConflict

#: Every column a stored state writes, in the order `row_upsert` takes them.
COLUMNS = (
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
#: Columns of a PENDING row, in the order of the tuples `rows_insert_pending` takes.
PENDING_COLUMNS = (
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
#: How a repeated store (STARTED, then SUCCESS) updates each column: the state's own
#: columns take the new values; the row keeps when it was created, and keeps extended
#: fields a later state does not carry.
_STATE_COLUMNS = ("result", "traceback", "meta", "content_encoding", "content_type", "date_done")
_SET = {
    c: f"VALUES({c})" if c in _STATE_COLUMNS else f"COALESCE(VALUES({c}), {c})"
    for c in COLUMNS
    if c not in ("task_id", "date_created", "status")
}
_UPDATES = ", ".join([f"{c} = {value}" for c, value in _SET.items()] + ["status = VALUES(status)"])
#: A STARTED row written late (see `started_rows`) updates the row as above unless another
#: process already stored a final state, which it never replaces. `status` is assigned
#: last: MySQL evaluates the assignments left to right, so the other IF()s still see the
#: old status.
_FINAL = "status IN ('SUCCESS', 'FAILURE', 'REVOKED')"
_STARTED_UPDATES = ", ".join(
    [f"{c} = IF({_FINAL}, {c}, {value})" for c, value in _SET.items()]
    + [f"status = IF({_FINAL}, status, VALUES(status))"]
)


def _model() -> Any:
    from django_celery_results.models import TaskResult

    return TaskResult


def row_upsert(row: dict[str, Any], alias: str) -> None:
    """Write one result row in one statement (autocommit) on the MySQL database `alias`."""
    connection = connections[alias]
    table = connection.ops.quote_name(_model()._meta.db_table)
    updates = _STARTED_UPDATES if row["status"] == states.STARTED else _UPDATES
    sql = (
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(COLUMNS))}) ON DUPLICATE KEY UPDATE {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [row[c] for c in COLUMNS])


def rows_insert_pending(rows: Sequence[tuple[Any, ...]], *, chunk: int) -> None:
    """Insert PENDING rows (tuples in PENDING_COLUMNS order), `chunk` per statement.

    An existing row wins (`INSERT IGNORE`, `INSERT OR IGNORE` on SQLite): a worker that
    already stored a later state is never overwritten.
    """
    model = _model()
    connection = connections[router.db_for_write(model)]
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    fields = [model._meta.get_field(column) for column in PENDING_COLUMNS]
    suffix = ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
    placeholders = f"({', '.join(['%s'] * len(PENDING_COLUMNS))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params: list[Any] = []
            for row in part:
                params += row[:-2]
                params += (
                    ops.adapt_datetimefield_value(row[-2]),
                    ops.adapt_datetimefield_value(row[-1]),
                )
            cursor.execute(
                f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {table} "
                f"({', '.join(PENDING_COLUMNS)}) "
                f"VALUES {', '.join([placeholders] * len(part))} {suffix}",
                params,
            )


def row_mark_unsent(
    *,
    task_id: str,
    task_name: str,
    periodic_task_name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    error: BaseException,
) -> None:
    """Store a run the broker never took as FAILURE, so the admin says so instead of lying."""
    now = datetime.now(UTC)
    _model().objects.update_or_create(
        task_id=task_id,
        defaults={
            "status": states.FAILURE,
            "task_name": task_name,
            "periodic_task_name": periodic_task_name,
            "task_args": json.dumps(args),
            "task_kwargs": json.dumps(kwargs),
            "content_type": "application/json",
            "content_encoding": "utf-8",
            "traceback": f"not sent to the broker: {error!r}",
            "date_done": now,
        },
    )


def row_inprocess(
    *,
    task_id: str,
    task_name: str,
    status: str,
    result: Any,
    kwargs: dict[str, Any] | None,
    worker: str,
    created_at: datetime,
    started_at: datetime | None,
    traceback: str | None = None,
) -> dict[str, Any]:
    """Build the row of one state of a run no Celery worker ran (an AnyIO run of a web process).

    The row has the shape a Celery worker writes (JSON result, `exc_type`/`exc_message`
    for failures), so the API and the admin read both runtimes the same way.
    """

    def naive(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)

    return {
        "task_id": task_id,
        "status": status,
        "result": json.dumps(result, default=str),
        "traceback": traceback,
        "meta": json.dumps({"children": [], "runtime": "aio"}),
        "content_encoding": "utf-8",
        "content_type": "application/json",
        "periodic_task_name": None,
        "task_name": task_name,
        "task_args": "[]" if kwargs is not None else None,
        "task_kwargs": json.dumps(kwargs, default=str) if kwargs is not None else None,
        "worker": worker,
        "date_created": naive(created_at),
        "date_started": naive(started_at),
        "date_done": datetime.now(UTC).replace(tzinfo=None),
    }


def rows_store_inprocess(rows: Sequence[dict[str, Any]]) -> None:
    """Write rows built by `row_inprocess`: one upsert per kind of state on MySQL.

    STARTED rows never replace a final state (as `row_upsert`); elsewhere, through the ORM.
    """
    model = _model()
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "mysql":
        for row in rows:
            defaults = {k: v for k, v in row.items() if k != "task_id" and v is not None}
            for key in ("date_created", "date_started", "date_done"):
                if key in defaults:
                    defaults[key] = defaults[key].replace(tzinfo=UTC)
            model.objects.using(alias).update_or_create(task_id=row["task_id"], defaults=defaults)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = f"({', '.join(['%s'] * len(COLUMNS))})"
    for started in (True, False):
        part = [row for row in rows if (row["status"] == states.STARTED) == started]
        if not part:
            continue
        sql = (
            f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES "
            f"{', '.join([placeholders] * len(part))} "
            f"ON DUPLICATE KEY UPDATE {_STARTED_UPDATES if started else _UPDATES}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [row[c] for row in part for c in COLUMNS])
