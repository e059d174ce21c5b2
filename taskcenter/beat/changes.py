"""Schedule change feed: database triggers write it, beat reads it incrementally.

django-celery-beat only notices changes made through the model (`save()` bumps
`PeriodicTasks.last_update`) and then reloads every row. Triggers on the schedule tables
(taskcenter.beat.triggers) see every write, `QuerySet.update()`, migrations and raw SQL
included, and name the changed row, so beat reloads only what changed. Beat's own
bookkeeping columns (`last_run_at`, `total_run_count`, `no_changes`, `date_changed`) do
not count as a change, so dispatching does not feed back into the feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

FEED_TABLE = "taskcenter_schedulechangefeed"
#: Foreign key column on PeriodicTask for each schedule source.
SOURCE_FK = {
    "interval": "interval_id",
    "crontab": "crontab_id",
    "solar": "solar_id",
    "clocked": "clocked_id",
}


@dataclass
class ChangeBatch:
    """Changes read from the feed since the last poll: changed task ids and feed ids."""

    task_ids: set[int] = field(default_factory=set)
    feed_ids: list[int] = field(default_factory=list)


class ChangeFeed:
    """Read the feed incrementally: one indexed range query per poll."""

    def __init__(self, *, connection: BaseDatabaseWrapper | None = None) -> None:
        self.connection = connection or default_connection
        self.last_id = 0

    def start(self) -> None:
        """Skip everything already in the feed (call before the full load)."""
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {FEED_TABLE}")
            self.last_id = cursor.fetchone()[0]

    def poll(self, *, limit: int = 10000) -> ChangeBatch:
        """Return the periodic tasks changed since the last poll (resolving schedule rows)."""
        batch = ChangeBatch()
        by_source: dict[str, set[int]] = {}
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, source, row_id FROM {FEED_TABLE} WHERE id > %s ORDER BY id LIMIT %s",
                [self.last_id, limit],
            )
            for feed_id, source, row_id in cursor.fetchall():
                batch.feed_ids.append(feed_id)
                by_source.setdefault(source, set()).add(row_id)
            if batch.feed_ids:
                self.last_id = batch.feed_ids[-1]
            batch.task_ids |= by_source.pop("task", set())
            for source, row_ids in by_source.items():
                placeholders = ", ".join(["%s"] * len(row_ids))
                cursor.execute(
                    f"SELECT id FROM django_celery_beat_periodictask "
                    f"WHERE {SOURCE_FK[source]} IN ({placeholders})",
                    list(row_ids),
                )
                batch.task_ids |= {row[0] for row in cursor.fetchall()}
        return batch
