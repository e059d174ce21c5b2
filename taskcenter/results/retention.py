"""Results retention: delete old task results in bounded batches, never loading them.

On MySQL the purge walks the primary key: one `DELETE ... WHERE id >= a AND id < a + n
AND date_done < cutoff` per slice of `n` ids between the oldest and newest expired row.
Each statement reads one short primary-key range, so no ids travel to Python, locks are
held briefly and the undo log stays small. (`ORDER BY date_done LIMIT n` looks natural,
but when most rows are expired the optimizer scans and sorts the whole table for every
batch: quadratic, slower than one big DELETE; bench/retention.py.) Elsewhere
(SQLite, the embedded default) the ORM deletes by id batches.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_celery_results.models import TaskResult

logger = logging.getLogger(__name__)

#: Rows per DELETE: ~10k keeps one statement well under a second on MySQL while the
#: per-statement overhead stays negligible next to the rows it removes.
PURGE_BATCH = 10_000


def results_purge(
    *, older_than: timedelta, batch: int = PURGE_BATCH, now: datetime | None = None
) -> int:
    """Delete results finished more than `older_than` ago, about `batch` rows per statement.

    Returns how many were deleted. Each statement commits on its own, so an interrupted
    purge keeps its progress and never holds one huge transaction.
    """
    cutoff = (now or timezone.now()) - older_than
    if connection.vendor == "mysql":
        total = _purge_by_id_slices(cutoff=cutoff, batch=batch)
    else:
        total = _purge_by_id_batches(cutoff=cutoff, batch=batch)
    if total:
        logger.info("deleted %d task results finished before %s", total, cutoff.isoformat())
    return total


def _purge_by_id_slices(*, cutoff: datetime, batch: int) -> int:
    table = connection.ops.quote_name(TaskResult._meta.db_table)
    total = 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE date_done < %s", [cutoff])
        low, high = cursor.fetchone()
        if low is None:
            return 0
        for start in range(low, high + 1, batch):
            cursor.execute(
                f"DELETE FROM {table} WHERE id >= %s AND id < %s AND date_done < %s",
                [start, start + batch, cutoff],
            )
            total += cursor.rowcount
    return total


def _purge_by_id_batches(*, cutoff: datetime, batch: int) -> int:
    old = TaskResult.objects.filter(date_done__lt=cutoff).order_by("id")
    total = 0
    while ids := list(old.values_list("id", flat=True)[:batch]):
        with transaction.atomic():
            deleted, _ = TaskResult.objects.filter(id__in=ids).delete()
        total += deleted
    return total
