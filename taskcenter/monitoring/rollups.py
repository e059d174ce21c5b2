"""Run figures grouped by job, time bucket and log-scale bin: live for the current hour,
from hourly rollups before it, and from six-hour rollups for a 7-day window's whole periods.

Every read of the operations page first rolls up the hours finished since the last
rollup (`INSERT ... SELECT ... GROUP BY`, idempotent under concurrent web processes),
then each finished six-hour period (00, 06, 12, 18 h UTC) from its hours; then it reads
grouped rows: their number depends on jobs, buckets and bins, never on the number of
runs. The 7-day window charts six-hour buckets, so its whole periods are read from the
six-hour rows as they are (a sixth of the hourly rows, nothing to group) and only the
hours of its two partial periods from the hourly rows.

The finished part of a window does not change once rolled up, so each process keeps its
figures per window hours and bucket size, with the ids of the newest rollup rows then.
One statement reads those ids and, only when one has moved (a new hour or period rolled
up), the rows again: the same statement count whether the copy is used or not, and the
figures exact with respect to the rollups. A table emptied by hand (its ids restarting)
needs `rollups_cache_clear()` or a restart.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from django_celery_results.models import TaskResult

from taskcenter.models import LocalJobRun, QuarterDayRollup, RunRollup
from taskcenter.monitoring import sql
from taskcenter.monitoring.histograms import (
    BASE,
    FLOOR_SECONDS,
    MIN_BIN,
    UNKNOWN,
    Grouped,
    add_rows,
    aware,
    merge,
)

# Rollups are kept, and rebuilt from the results on a fresh database, this far back.
KEEP = timedelta(days=8)
# Finished-hours figures kept per process: a few windows and bucket sizes, for the hour.
CACHE_SIZE = 8
# The six-hour rollups' period (the 7-day window's chart bucket), from midnight UTC.
PERIOD = timedelta(hours=6)


@dataclass(frozen=True)
class _Source:
    source: str
    table: str
    job: str
    moment: str
    final: str
    failed: str
    duration: str
    wait: str


def _sources() -> tuple[_Source, _Source]:
    results = _Source(
        source=RunRollup.Source.RESULTS,
        table=TaskResult._meta.db_table,
        job="task_name",
        moment="date_done",
        final="status IN ('SUCCESS', 'FAILURE', 'REVOKED')",
        failed="status = 'FAILURE'",
        duration=sql.seconds_between("date_started", "date_done"),
        wait=sql.seconds_between("date_created", "date_started"),
    )
    local = _Source(
        source=RunRollup.Source.LOCAL,
        table=LocalJobRun._meta.db_table,
        job="job",
        moment="created_at",
        final="outcome IN ('success', 'failed')",
        failed="outcome = 'failed'",
        duration="duration",
        wait=sql.seconds_between("scheduled_at", "started_at"),
    )
    return results, local


def _bin(expr: str) -> str:
    return (
        f"CASE WHEN {expr} IS NULL THEN {UNKNOWN} WHEN {expr} <= {FLOOR_SECONDS} THEN {MIN_BIN} "
        f"ELSE FLOOR(LN({expr}) / LN({BASE})) END"
    )


def _grouped_select(src: _Source, metric: str, moment_group: str) -> str:
    expr = src.duration if metric == "d" else src.wait
    return (
        f"SELECT {src.job}, {moment_group}, {_bin(expr)} AS bin, COUNT(*), "
        f"SUM(CASE WHEN {src.failed} THEN 1 ELSE 0 END), "
        f"MAX(CASE WHEN {src.failed} THEN {src.moment} END) "
        f"FROM {src.table} WHERE {src.moment} >= %s AND {src.moment} < %s AND {src.final} "
        f"GROUP BY {src.job}, 2, bin"
    )


def _hour_sql(column: str) -> str:
    if connection.vendor == "mysql":
        return f"DATE_FORMAT({column}, '%%Y-%%m-%%d %%H:00:00')"
    return f"strftime('%%Y-%%m-%%d %%H:00:00', {column})"


def _insert_ignore() -> str:
    return "INSERT IGNORE INTO" if connection.vendor == "mysql" else "INSERT OR IGNORE INTO"


def _period_sql(column: str) -> str:
    """SQL for the start of the six-hour period holding the whole hour `column`."""
    if connection.vendor == "mysql":
        return f"({column} - INTERVAL (HOUR({column}) %% 6) HOUR)"
    hours = f"(CAST(strftime('%%H', {column}) AS INTEGER) %% 6)"
    return f"datetime({column}, '-' || {hours} || ' hours')"


def period_floor(moment: datetime) -> datetime:
    """Return the start of the six-hour period (from midnight UTC) `moment` falls in."""
    return moment.replace(hour=moment.hour - moment.hour % 6, minute=0, second=0, microsecond=0)


def _latest() -> dict[tuple[str, str], datetime]:
    """Return {(table, source): newest hour or period rolled up} in one statement."""
    hourly, quarters = RunRollup._meta.db_table, QuarterDayRollup._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 'h', source, MAX(hour) FROM {hourly} GROUP BY source UNION ALL "
            f"SELECT 'q', source, MAX(start) FROM {quarters} GROUP BY source"
        )
        return {(t, source): aware(last) for t, source, last in cursor.fetchall() if last}


def rollups_catch_up(*, now: datetime | None = None) -> None:
    """Roll up every finished hour, then every finished six-hour period, not rolled up yet
    (7 statements, whatever there is)."""
    now = now or timezone.now()
    current = now.replace(minute=0, second=0, microsecond=0)
    latest = _latest()
    hourly, quarters = RunRollup._meta.db_table, QuarterDayRollup._meta.db_table
    with connection.cursor() as cursor:
        for src in _sources():
            last = latest.get(("h", src.source))
            start = last + timedelta(hours=1) if last else current - KEEP
            for metric in ("d", "w"):
                select = _grouped_select(src, metric, _hour_sql(src.moment))
                cursor.execute(
                    f"{_insert_ignore()} {hourly} (job, hour, bin, runs, failures, "
                    f"last_failure_at, source, metric) SELECT g.*, %s, %s FROM ({select}) AS g",
                    [src.source, metric, sql.when(start), sql.when(current)],
                )
        # Every hour before `current` is rolled up now: so is every period before its own.
        for src in _sources():
            last = latest.get(("q", src.source))
            start = last + PERIOD if last else period_floor(current - KEEP)
            cursor.execute(
                f"{_insert_ignore()} {quarters} (source, metric, job, start, bin, runs, "
                f"failures, last_failure_at) SELECT source, metric, job, "
                f"{_period_sql('hour')} AS p, bin, SUM(runs), SUM(failures), "
                f"MAX(last_failure_at) FROM {hourly} WHERE source = %s AND hour >= %s "
                "AND hour < %s GROUP BY source, metric, job, p, bin",
                [src.source, sql.when(start), sql.when(period_floor(current))],
            )


def rollups_prune(*, now: datetime | None = None) -> None:
    """Delete rollups older than the longest window needs."""
    oldest = (now or timezone.now()) - KEEP
    RunRollup.objects.filter(hour__lt=oldest).delete()
    QuarterDayRollup.objects.filter(start__lt=oldest).delete()


_finished_cache: OrderedDict[tuple, tuple[tuple[int, int], Grouped]] = OrderedDict()
_finished_lock = threading.Lock()


def rollups_cache_clear() -> None:
    """Forget the finished-hours figures this process keeps (tests, after a truncation)."""
    with _finished_lock:
        _finished_cache.clear()


def _finished_select(step: int) -> str:
    """One statement for the rolled-up part of a window, both sources: a row of the newest
    ids of both rollup tables, and the rows only when either differs from the one given
    (else none): hours summed into buckets (an hour is its own bucket at 1 h), plus
    six-hour rows, each a bucket of its own already."""
    hourly, quarters = RunRollup._meta.db_table, QuarterDayRollup._meta.db_table
    top = f"(SELECT COALESCE(MAX(id), 0) FROM {hourly})"
    qtop = f"(SELECT COALESCE(MAX(id), 0) FROM {quarters})"
    moved = f"({top} <> %s OR {qtop} <> %s)"
    hour_is_bucket = step == 3600
    sums = "SUM(runs), SUM(failures), MAX(last_failure_at)"
    columns = "runs, failures, last_failure_at" if hour_is_bucket else sums
    group = "" if hour_is_bucket else " GROUP BY source, metric, job, b, bin"
    hours = f"SELECT NULL, NULL, source, metric, job, {sql.bucket('hour', step)} AS b, bin, "
    hours += f"{columns} FROM {hourly}"
    return (
        f"SELECT {top}, {qtop}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL UNION ALL "
        f"{hours} WHERE source IN (%s, %s) AND (hour >= %s AND hour < %s OR "
        f"hour >= %s AND hour < %s) AND {moved}{group} UNION ALL "
        f"SELECT NULL, NULL, source, metric, job, {sql.bucket('start', step)}, bin, runs, "
        f"failures, last_failure_at FROM {quarters} WHERE source IN (%s, %s) AND start >= %s "
        f"AND start < %s AND {moved}"
    )


def _finished(cursor, *, first: datetime, current: datetime, step: int) -> Grouped:
    """Return the figures of the rolled-up hours [first, current): this process's copy
    while no rollup row was added since, else read again (one statement either way)."""
    key = (connection.alias, first, current, step)
    with _finished_lock:
        known, kept = _finished_cache.get(key, ((-1, -1), None))
    # Whole periods from the six-hour rows when a bucket is made of them, else none.
    whole_from = whole_to = current
    if step % int(PERIOD.total_seconds()) == 0:
        whole_from = period_floor(first)
        whole_from += PERIOD if whole_from < first else timedelta(0)
        whole_to = max(whole_from, period_floor(current))
    sources = [s.source for s in _sources()]
    when = sql.when
    cursor.execute(
        _finished_select(step),
        [*sources, when(first), when(whole_from), when(whole_to), when(current), *known]
        + [*sources, when(whole_from), when(whole_to), *known],
    )
    rows = cursor.fetchall()
    # The one row without a source carries the ids (a UNION ALL keeps no order).
    top = next((a, b) for a, b, source, *_rest in rows if source is None)
    if kept is not None and top == known:
        return kept
    out = Grouped()
    by_part: dict[tuple[str, str], list] = defaultdict(list)
    for _top, _qtop, source, metric, *rest in rows:
        if source is not None:
            by_part[(source, metric)].append(rest)
    for (source, metric), part in by_part.items():
        add_rows(out, source, metric, part, int)
    with _finished_lock:
        _finished_cache[key] = (top, out)
        _finished_cache.move_to_end(key)
        while len(_finished_cache) > CACHE_SIZE:
            _finished_cache.popitem(last=False)
    return out


def grouped(*, since: datetime, now: datetime, step: int) -> Grouped:
    """Return the figures of runs finished in [since, now), bucketed by `step` seconds."""
    current = now.replace(minute=0, second=0, microsecond=0)
    # A window under two hours is read live; a longer one from whole rolled-up hours
    # (starting at the hour `since` falls in) plus the live current hour.
    rolled = step >= 3600
    live_from = max(since, current) if rolled else since
    out = Grouped()
    with connection.cursor() as cursor:
        for src in _sources():
            for metric in ("d", "w"):
                cursor.execute(
                    _grouped_select(src, metric, sql.bucket(src.moment, step)),
                    [sql.when(live_from), sql.when(now)],
                )
                add_rows(out, src.source, metric, cursor.fetchall(), int)
        if rolled:
            first = since.replace(minute=0, second=0, microsecond=0)
            merge(out, _finished(cursor, first=first, current=current, step=step))
    return out
