"""Time series of the operations page's charts, from the window's grouped figures.

Windows are cut into a fixed number of buckets (12 to 28), so a chart costs the same
whatever the number of rows behind it; queue depth is one GROUP BY over the samples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection

from taskcenter.models import QueueSample
from taskcenter.monitoring import sql
from taskcenter.monitoring.histograms import Grouped

# window seconds -> bucket seconds: 12 x 5 min, 24 x 1 h, 28 x 6 h.
BUCKETS = {3600: 300, 86400: 3600, 7 * 86400: 6 * 3600}
# More jobs than this in one stacked chart are summed as "other": a legend stays readable.
TOP_JOBS = 8


@dataclass
class Series:
    """Bucket start times and named value lists of one chart."""

    starts: list[datetime]
    lines: dict[str, list[float | None]] = field(default_factory=dict)


def bucket_step(window: int) -> int:
    return BUCKETS.get(window, max(60, window // 24))


def _starts(since: datetime, now: datetime, step: int) -> list[int]:
    first = int(since.timestamp()) // step
    last = int(now.timestamp()) // step
    return list(range(first, last + 1))


def _as_times(numbers: list[int], step: int) -> list[datetime]:
    return [datetime.fromtimestamp(n * step, tz=UTC) for n in numbers]


def runs_over_time(*, figures: Grouped, since: datetime, now: datetime, window: int):
    """Return (runs per bucket per job, failures per bucket) over the window."""
    step = bucket_step(window)
    numbers = _starts(since, now, step)
    index = {n: i for i, n in enumerate(numbers)}
    per_job: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(numbers))
    for (name, bucket), runs in figures.runs.items():
        if (i := index.get(bucket)) is not None:
            per_job[name or "?"][i] += runs
    failures = [float(figures.failures.get(n, 0)) for n in numbers]
    ranked = sorted(per_job, key=lambda n: -sum(per_job[n]))
    lines = {name: per_job[name] for name in ranked[:TOP_JOBS]}
    if len(ranked) > TOP_JOBS:
        rest = [sum(per_job[n][i] for n in ranked[TOP_JOBS:]) for i in range(len(numbers))]
        lines["other"] = rest
    times = _as_times(numbers, step)
    return Series(times, lines), Series(times, {"failures": failures})


def durations_over_time(*, figures: Grouped, since: datetime, now: datetime, window: int):
    """Return p50 and p95 run duration (seconds) per bucket, over every job."""
    step = bucket_step(window)
    numbers = _starts(since, now, step)
    hists = figures.bucket_durations
    return Series(
        _as_times(numbers, step),
        {
            "p50": [hists[n].percentile(0.5) if n in hists else None for n in numbers],
            "p95": [hists[n].percentile(0.95) if n in hists else None for n in numbers],
        },
    )


def queue_depth_over_time(*, since: datetime, now: datetime, window: int) -> Series:
    """Return the largest sampled depth per bucket of each queue."""
    step = bucket_step(window)
    numbers = _starts(since, now, step)
    index = {n: i for i, n in enumerate(numbers)}
    lines: dict[str, list[float | None]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT queue, {sql.bucket('minute', step)} AS b, MAX(waiting) "
            f"FROM {QueueSample._meta.db_table} WHERE minute >= %s GROUP BY queue, b",
            [sql.when(since)],
        )
        for queue, b, waiting in cursor.fetchall():
            i = index.get(int(b))
            if i is not None:
                lines.setdefault(queue, [None] * len(numbers))[i] = float(waiting)
    return Series(_as_times(numbers, step), dict(sorted(lines.items())))
