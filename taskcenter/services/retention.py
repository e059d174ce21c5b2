"""Results retention: delete old task results in bounded batches, never loading them.

On MySQL each batch is one `DELETE ... WHERE date_done < %s ORDER BY date_done LIMIT n`
walking django-celery-results' date_done index: no ids travel to Python, each statement
holds its locks briefly and the undo log stays small. Elsewhere (SQLite, the embedded
default) the ORM deletes by id batches.
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
    """Delete results finished more than `older_than` ago, `batch` rows per statement.

    Returns how many were deleted. Each batch commits on its own, so an interrupted
    purge keeps its progress and never holds one huge transaction.
    """
    cutoff = (now or timezone.now()) - older_than
    total = 0
    while True:
        with transaction.atomic():
            deleted = _delete_batch(cutoff=cutoff, batch=batch)
        total += deleted
        if deleted < batch:
            break
    if total:
        logger.info("deleted %d task results finished before %s", total, cutoff.isoformat())
    return total


def _delete_batch(*, cutoff: datetime, batch: int) -> int:
    if connection.vendor == "mysql":
        table = connection.ops.quote_name(TaskResult._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE date_done < %s ORDER BY date_done LIMIT %s",
                [cutoff, int(batch)],
            )
            return cursor.rowcount
    ids = list(
        TaskResult.objects.filter(date_done__lt=cutoff)
        .order_by("date_done")
        .values_list("id", flat=True)[:batch]
    )
    deleted, _ = TaskResult.objects.filter(id__in=ids).delete()
    return deleted
