"""Schedule change feed: database triggers write it, beat reads it incrementally.

django-celery-beat only notices changes made through the model (`save()` bumps
`PeriodicTasks.last_update`) and then reloads every row. Triggers on the schedule tables
see every write, `QuerySet.update()`, migrations and raw SQL included, and name the
changed row, so beat reloads only what changed. Beat's own bookkeeping columns
(`last_run_at`, `total_run_count`, `no_changes`, `date_changed`) do not count as a
change, so dispatching does not feed back into the feed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

FEED_TABLE = "taskcenter_schedulechangefeed"
#: Columns beat itself writes on every dispatch; a change to only these is no edit.
BOOKKEEPING_COLUMNS = frozenset({"last_run_at", "total_run_count", "no_changes", "date_changed"})
#: (source, table, column naming the periodic task or None for the row's own id).
WATCHED = [
    ("task", "django_celery_beat_periodictask", "id"),
    ("task", "taskcenter_schedulesettings", "periodic_task_id"),
    ("interval", "django_celery_beat_intervalschedule", "id"),
    ("crontab", "django_celery_beat_crontabschedule", "id"),
    ("solar", "django_celery_beat_solarschedule", "id"),
    ("clocked", "django_celery_beat_clockedschedule", "id"),
]
#: Foreign key column on PeriodicTask for each schedule source.
SOURCE_FK = {
    "interval": "interval_id",
    "crontab": "crontab_id",
    "solar": "solar_id",
    "clocked": "clocked_id",
}


def _now_sql(vendor: str) -> str:
    if vendor == "mysql":
        return "UTC_TIMESTAMP(6)"
    return "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def _differs(vendor: str, columns: Iterable[str]) -> str:
    """SQL that is true when any of `columns` differs between OLD and NEW (NULL-safe)."""
    if vendor == "mysql":
        parts = [f"NOT (OLD.`{c}` <=> NEW.`{c}`)" for c in columns]
    else:
        parts = [f'OLD."{c}" IS NOT NEW."{c}"' for c in columns]
    return " OR ".join(parts) or "1=1"


def trigger_statements(vendor: str, table_columns: dict[str, list[str]]) -> list[str]:
    """Return CREATE TRIGGER statements for `vendor` (mysql or sqlite)."""
    now = _now_sql(vendor)
    statements = []
    for source, table, key in WATCHED:
        columns = [c for c in table_columns[table] if c not in BOOKKEEPING_COLUMNS]
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            name = f"tc_feed_{table[-20:]}_{event[:3].lower()}"
            insert = (
                f"INSERT INTO {FEED_TABLE} (source, row_id, changed_at) "
                f"VALUES ('{source}', {row}.{key}, {now})"
            )
            condition = _differs(vendor, columns) if event == "UPDATE" else ""
            if vendor == "mysql":
                body = f"IF {condition} THEN {insert}; END IF" if condition else insert
                body = f"BEGIN {body}; END" if condition else body
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW {body}"
                )
            else:
                when = f" WHEN {condition}" if condition else ""
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} "
                    f"BEGIN {insert}; END"
                )
    return statements


def drop_statements() -> list[str]:
    """Return DROP TRIGGER statements for every trigger `trigger_statements` creates."""
    return [
        f"DROP TRIGGER IF EXISTS tc_feed_{table[-20:]}_{event}"
        for _, table, _ in WATCHED
        for event in ("ins", "upd", "del")
    ]


def install_triggers(connection: BaseDatabaseWrapper, table_columns: dict[str, list[str]]) -> None:
    """(Re)create the feed triggers on `connection`; used by the migration."""
    if connection.vendor not in ("mysql", "sqlite"):
        raise NotImplementedError(f"no schedule change triggers for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in drop_statements():
            cursor.execute(statement)
        for statement in trigger_statements(connection.vendor, table_columns):
            cursor.execute(statement)


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
