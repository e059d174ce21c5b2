"""The triggers that write the schedule change feed, derived from the models they watch.

Every concrete column of a watched model, except beat's bookkeeping, counts as a change.
The columns come from the models, not from the tables as they were when migration 0004
ran, and `triggers_sync` reinstalls them after every `migrate` (post_migrate): a column a
django-celery-beat upgrade adds is watched, and triggers SQLite dropped while it rebuilt
an altered table come back.

A trigger's name ends with a digest of its statement, so comparing names tells which
triggers are current. Missing ones are created before outdated ones are dropped: while
both exist a change is written to the feed twice (beat reloads that row once), never
missed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from taskcenter.beat.changes import FEED_TABLE

logger = logging.getLogger(__name__)

#: Columns beat itself writes on every dispatch; a change to only these is no edit.
BOOKKEEPING_COLUMNS = frozenset({"last_run_at", "total_run_count", "no_changes", "date_changed"})
#: (feed source, model). The feed names the periodic task for "task" rows (the primary
#: key of both models is the task's id) and the schedule row for the others. Migration
#: 0004 reads this list against its own model state: a model added here must exist
#: there, or be installed from a later migration instead.
WATCHED = [
    ("task", "django_celery_beat.PeriodicTask"),
    ("task", "taskcenter.ScheduleSettings"),
    ("interval", "django_celery_beat.IntervalSchedule"),
    ("crontab", "django_celery_beat.CrontabSchedule"),
    ("solar", "django_celery_beat.SolarSchedule"),
    ("clocked", "django_celery_beat.ClockedSchedule"),
]
PREFIX = "tc_feed_"
VENDORS = ("mysql", "sqlite")


@dataclass(frozen=True)
class WatchedTable:
    """One watched table: its feed source, key column and the columns that count."""

    source: str
    table: str
    key: str
    columns: tuple[str, ...]


def watched_table(source: str, model: type[Model]) -> WatchedTable:
    """Describe `model`'s table: every concrete column except the bookkeeping ones."""
    columns = {field.column for field in model._meta.concrete_fields}
    return WatchedTable(
        source=source,
        table=model._meta.db_table,
        key=model._meta.pk.column,
        columns=tuple(sorted(columns - BOOKKEEPING_COLUMNS)),
    )


def watched_tables(apps: Apps = global_apps) -> list[WatchedTable]:
    """Describe the tables in WATCHED from the models of `apps` (a migration's or the app's)."""
    return [watched_table(source, apps.get_model(label)) for source, label in WATCHED]


def trigger_statements(vendor: str, watched: WatchedTable) -> dict[str, str]:
    """Return {trigger name: CREATE TRIGGER statement} for `watched` on `vendor`."""
    q = "`" if vendor == "mysql" else '"'
    now = "UTC_TIMESTAMP(6)" if vendor == "mysql" else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    if vendor == "mysql":
        differs = [f"NOT (OLD.{q}{c}{q} <=> NEW.{q}{c}{q})" for c in watched.columns]
    else:
        differs = [f"OLD.{q}{c}{q} IS NOT NEW.{q}{c}{q}" for c in watched.columns]
    statements = {}
    for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        insert = (
            f"INSERT INTO {FEED_TABLE} (source, row_id, changed_at) "
            f"VALUES ('{watched.source}', {row}.{q}{watched.key}{q}, {now})"
        )
        condition = (" OR ".join(differs) or "1=1") if event == "UPDATE" else ""
        head = f"AFTER {event} ON {q}{watched.table}{q} FOR EACH ROW"
        if vendor == "mysql":
            body = f"BEGIN IF {condition} THEN {insert}; END IF; END" if condition else insert
            body = f"{head} {body}"
        else:
            when = f" WHEN {condition}" if condition else ""
            body = f"{head}{when} BEGIN {insert}; END"
        digest = hashlib.sha1(body.encode()).hexdigest()[:8]
        name = f"{PREFIX}{watched.table[-20:]}_{event[:3].lower()}_{digest}"
        statements[name] = f"CREATE TRIGGER {name} {body}"
    return statements


def installed_triggers(connection: BaseDatabaseWrapper, tables: Iterable[str]) -> dict[str, tuple]:
    """Return {name: (table, statement or body)} of the feed triggers on `tables`."""
    if connection.vendor == "mysql":
        query = (
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_STATEMENT "
            "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
        )
    else:
        query = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
    wanted = set(tables)
    with connection.cursor() as cursor:
        cursor.execute(query)
        rows = cursor.fetchall()
    return {
        name: (table, sql)
        for name, table, sql in rows
        if name.startswith(PREFIX) and table in wanted
    }


def install_triggers(connection: BaseDatabaseWrapper, watched: Iterable[WatchedTable]) -> int:
    """Make the feed triggers on `connection` those of `watched`; return how many changed.

    Idempotent: current triggers are left alone, missing ones created, outdated ones (on
    the watched tables only) dropped after their replacements exist.
    """
    if connection.vendor not in VENDORS:
        raise NotImplementedError(f"no schedule change triggers for {connection.vendor}")
    watched = list(watched)
    wanted: dict[str, str] = {}
    for table in watched:
        wanted |= trigger_statements(connection.vendor, table)
    installed = installed_triggers(connection, [table.table for table in watched])
    missing = [sql for name, sql in wanted.items() if name not in installed]
    outdated = [name for name in installed if name not in wanted]
    with connection.cursor() as cursor:
        for statement in missing:
            cursor.execute(statement)
        for name in outdated:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    return len(missing) + len(outdated)


def drop_triggers(connection: BaseDatabaseWrapper, tables: Iterable[str]) -> None:
    """Drop every feed trigger on `tables` (the migration's reverse)."""
    with connection.cursor() as cursor:
        for name in installed_triggers(connection, tables):
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def triggers_sync(
    *,
    using: str = DEFAULT_DB_ALIAS,
    watched: Iterable[WatchedTable] | None = None,
    **kwargs: Any,
) -> int:
    """Reinstall the feed triggers from the current models; return how many changed.

    Connected to post_migrate (which also follows a test database flush); `watched`
    defaults to the tables of WATCHED's models. Does nothing before migration 0004
    created the feed (or after it was migrated back), and watches only columns the
    tables have: a model column whose migration has not run yet is watched after the
    `migrate` that adds it.
    """
    connection = connections[using]
    if connection.vendor not in VENDORS:
        return 0
    watched = watched_tables() if watched is None else list(watched)
    introspection = connection.introspection
    with connection.cursor() as cursor:
        tables = set(introspection.table_names(cursor))
        if FEED_TABLE not in tables or any(t.table not in tables for t in watched):
            return 0
        for i, table in enumerate(watched):
            present = {c.name for c in introspection.get_table_description(cursor, table.table)}
            absent = set(table.columns) - present
            if absent:
                logger.warning("%s lacks model column(s) %s", table.table, sorted(absent))
                watched[i] = replace(table, columns=tuple(sorted(set(table.columns) & present)))
    changed = install_triggers(connection, watched)
    if changed:
        logger.info("schedule change feed: %d trigger(s) replaced on %s", changed, using)
    return changed
