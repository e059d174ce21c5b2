"""Run figures grouped by job, time bucket and log-scale bin: live for the current hour,
from hourly rollups before it.

Every read of the operations page first rolls up the hours finished since the last
rollup (`INSERT ... SELECT ... GROUP BY`, idempotent under concurrent web processes),
then reads grouped rows: their number depends on jobs, buckets and bins, never on the
number of runs. Percentiles are interpolated inside the bin they fall in.

The finished hours of a window are the costly part (a 7-day window reads ~60,000 rollup
rows) and do not change once rolled up, so each process keeps their figures per window
hours and bucket size, with the id of the newest rollup row then. One statement reads
that id and, only when it has moved (a new hour rolled up), the grouped rows again: the
same statement count whether the copy is used or not, and the figures exact with
respect to the rollups. A table emptied by hand (its ids restarting) needs
`rollups_cache_clear()` or a restart.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django_celery_results.models import TaskResult

from taskcenter.models import LocalJobRun, RunRollup
from taskcenter.monitoring import sql

# Each bin 20 % wider than the last: about 40 bins from 10 ms to 10 s, which keeps the
# rollup small while a percentile stays within one bin (interpolated inside it).
BASE = 1.2
# Shorter than 10 ms counts as 10 ms: the bins need a floor.
FLOOR_SECONDS = 0.01
MIN_BIN = math.floor(math.log(FLOOR_SECONDS) / math.log(BASE))
UNKNOWN = -1000
# Rollups are kept, and rebuilt from the results on a fresh database, this far back.
KEEP = timedelta(days=8)
# Finished-hours figures kept per process: a few windows and bucket sizes, for the hour.
CACHE_SIZE = 8


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


def rollups_catch_up(*, now: datetime | None = None) -> None:
    """Roll up every finished hour not rolled up yet (6 statements, whatever there is)."""
    now = now or timezone.now()
    current = now.replace(minute=0, second=0, microsecond=0)
    table = RunRollup._meta.db_table
    with connection.cursor() as cursor:
        for src in _sources():
            last = RunRollup.objects.filter(source=src.source).aggregate(last=Max("hour"))["last"]
            start = last + timedelta(hours=1) if last else current - KEEP
            for metric in ("d", "w"):
                select = _grouped_select(src, metric, _hour_sql(src.moment))
                cursor.execute(
                    f"{_insert_ignore()} {table} (job, hour, bin, runs, failures, "
                    f"last_failure_at, source, metric) SELECT g.*, %s, %s FROM ({select}) AS g",
                    [src.source, metric, sql.when(start), sql.when(current)],
                )


@dataclass
class Histogram:
    """Run counts per log-scale bin, with the percentile interpolated inside a bin."""

    bins: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, bin_: int, n: int) -> None:
        if bin_ != UNKNOWN:
            self.bins[bin_] += n

    def percentile(self, fraction: float) -> float | None:
        total = sum(self.bins.values())
        if not total:
            return None
        rank, seen = fraction * total, 0
        for bin_ in sorted(self.bins):
            n = self.bins[bin_]
            if seen + n >= rank:
                low = 0.0 if bin_ == MIN_BIN else BASE**bin_
                high = BASE ** (bin_ + 1)
                return low + (high - low) * ((rank - seen) / n)
            seen += n
        return BASE ** (max(self.bins) + 1)


def rollups_prune(*, now: datetime | None = None) -> None:
    """Delete rollups older than the longest window needs."""
    RunRollup.objects.filter(hour__lt=(now or timezone.now()) - KEEP).delete()


@dataclass
class JobFigures:
    """One job's runs, failures, last failure and histograms over the window."""

    runs: int = 0
    failures: int = 0
    last_failure_at: datetime | None = None
    durations: Histogram = field(default_factory=Histogram)
    waits: Histogram = field(default_factory=Histogram)


@dataclass
class Grouped:
    """The window's figures per (source, job), per time bucket, and per bucket's durations."""

    jobs: dict[tuple[str, str], JobFigures] = field(default_factory=dict)
    runs: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    failures: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    bucket_durations: dict[int, Histogram] = field(default_factory=lambda: defaultdict(Histogram))


def _add(out: Grouped, source: str, metric: str, rows, to_bucket) -> None:
    jobs, by_job, by_bucket, failed = out.jobs, out.runs, out.bucket_durations, out.failures
    for job, moment, bin_, runs, failures, last_failure in rows:
        key = (source, job or "")
        if (figures := jobs.get(key)) is None:
            figures = jobs[key] = JobFigures()
        bin_, runs = int(bin_), int(runs)
        if metric == "w":
            figures.waits.add(bin_, runs)
            continue
        bucket = to_bucket(moment)
        failures = int(failures or 0)
        figures.runs += runs
        figures.failures += failures
        figures.durations.add(bin_, runs)
        if last_failure is not None:
            last_failure = _aware(last_failure)
            if figures.last_failure_at is None or last_failure > figures.last_failure_at:
                figures.last_failure_at = last_failure
        by_job[(key[1], bucket)] += runs
        failed[bucket] += failures
        by_bucket[bucket].add(bin_, runs)


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


_finished_cache: OrderedDict[tuple, tuple[int, Grouped]] = OrderedDict()
_finished_lock = threading.Lock()


def rollups_cache_clear() -> None:
    """Forget the finished-hours figures this process keeps (tests, after a truncation)."""
    with _finished_lock:
        _finished_cache.clear()


def _merge(out: Grouped, part: Grouped) -> None:
    """Add the figures of `part` into `out`, leaving `part` as it was."""
    for key, f in part.jobs.items():
        mine = out.jobs.setdefault(key, JobFigures())
        mine.runs += f.runs
        mine.failures += f.failures
        if f.last_failure_at and (
            mine.last_failure_at is None or f.last_failure_at > mine.last_failure_at
        ):
            mine.last_failure_at = f.last_failure_at
        for bin_, n in f.durations.bins.items():
            mine.durations.bins[bin_] += n
        for bin_, n in f.waits.bins.items():
            mine.waits.bins[bin_] += n
    for key, n in part.runs.items():
        out.runs[key] += n
    for bucket, n in part.failures.items():
        out.failures[bucket] += n
    for bucket, hist in part.bucket_durations.items():
        for bin_, n in hist.bins.items():
            out.bucket_durations[bucket].bins[bin_] += n


def _finished_select(step: int) -> str:
    """One statement for the rolled-up hours of both sources: the newest rollup row's id,
    and the grouped rows only when that id differs from the one given (else none)."""
    table = RunRollup._meta.db_table
    top = f"(SELECT COALESCE(MAX(id), 0) FROM {table})"
    return (
        f"SELECT m.top, g.* FROM (SELECT {top} AS top) AS m LEFT JOIN ("
        f"SELECT source, metric, job, {sql.bucket('hour', step)} AS b, bin, SUM(runs), "
        f"SUM(failures), MAX(last_failure_at) FROM {table} "
        f"WHERE source IN (%s, %s) AND hour >= %s AND hour < %s AND {top} <> %s "
        "GROUP BY source, metric, job, b, bin) AS g ON 1 = 1"
    )


def _finished(cursor, *, first: datetime, current: datetime, step: int) -> Grouped:
    """Return the figures of the rolled-up hours [first, current): this process's copy
    while no rollup row was added since, else read again (one statement either way)."""
    key = (connection.alias, first, current, step)
    with _finished_lock:
        known_top, kept = _finished_cache.get(key, (-1, None))
    cursor.execute(
        _finished_select(step),
        [*(s.source for s in _sources()), sql.when(first), sql.when(current), known_top],
    )
    rows = cursor.fetchall()
    top = rows[0][0]
    if kept is not None and top == known_top:
        return kept
    out = Grouped()
    by_part: dict[tuple[str, str], list] = defaultdict(list)
    for _top, source, metric, *rest in rows:
        if source is not None:
            by_part[(source, metric)].append(rest)
    for (source, metric), part in by_part.items():
        _add(out, source, metric, part, int)
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
                _add(out, src.source, metric, cursor.fetchall(), int)
        if rolled:
            first = since.replace(minute=0, second=0, microsecond=0)
            _merge(out, _finished(cursor, first=first, current=current, step=step))
    return out
