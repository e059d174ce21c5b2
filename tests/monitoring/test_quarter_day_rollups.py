"""Six-hour rollups: a 7-day window read from them gives the figures of hours and live rows."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django_celery_results.models import TaskResult

from taskcenter.models import LocalJobRun, QuarterDayRollup, RunRollup
from taskcenter.monitoring.histograms import BASE, Grouped, Histogram
from taskcenter.monitoring.rollups import grouped, rollups_catch_up, rollups_prune

pytestmark = [pytest.mark.services, pytest.mark.django_db]

A, B, LOCAL = "jobs.demo.add", "jobs.demo.total", "jobs.maintenance.cleanup"
NOW = datetime(2026, 11, 20, 15, 20, tzinfo=UTC)
SINCE = NOW - timedelta(days=7)
SIX_HOURS = 6 * 3600
# (job, finished at, seconds it ran, failed): across the window's first partial period,
# midnights, a period boundary, its last partial period and the live current hour.
RUNS = [
    (A, datetime(2026, 11, 13, 16, 30, tzinfo=UTC), 1.0, False),
    (A, datetime(2026, 11, 13, 23, 59, 30, tzinfo=UTC), 2.0, True),
    (A, datetime(2026, 11, 14, 0, 0, 10, tzinfo=UTC), 4.0, False),
    (B, datetime(2026, 11, 14, 0, 0, 20, tzinfo=UTC), 0.5, False),
    (B, datetime(2026, 11, 16, 5, 59, tzinfo=UTC), 8.0, True),
    (B, datetime(2026, 11, 16, 6, 0, 1, tzinfo=UTC), 3.0, False),
    (A, datetime(2026, 11, 20, 12, 30, tzinfo=UTC), 6.0, False),
    (A, datetime(2026, 11, 20, 15, 10, tzinfo=UTC), 9.0, True),
    # Before the window: rolled up, never read by it.
    (A, datetime(2026, 11, 12, 20, 0, tzinfo=UTC), 5.0, True),
]
WAIT = 0.5


def store_runs() -> None:
    rows = []
    for job, done, seconds, failed in RUNS:
        started = done - timedelta(seconds=seconds)
        rows.append(
            TaskResult(
                task_id=str(uuid.uuid4()),
                task_name=job,
                status="FAILURE" if failed else "SUCCESS",
                date_started=started,
            )
        )
    TaskResult.objects.bulk_create(rows)
    for row, (_job, done, seconds, _failed) in zip(rows, RUNS, strict=True):
        started = done - timedelta(seconds=seconds)
        TaskResult.objects.filter(task_id=row.task_id).update(
            date_done=done, date_created=started - timedelta(seconds=WAIT)
        )
    local = LocalJobRun.objects.create(job=LOCAL, outcome="failed", duration=0.3)
    started = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
    LocalJobRun.objects.filter(pk=local.pk).update(
        created_at=started, scheduled_at=started, started_at=started
    )


def in_window() -> list[tuple[str, datetime, float, bool]]:
    return [run for run in RUNS if run[1] >= SINCE]


def histogram(seconds: list[float]) -> Histogram:
    hist = Histogram()
    for s in seconds:
        hist.add(math.floor(math.log(s) / math.log(BASE)), 1)
    return hist


def per_six_hours(figures: Grouped, step: int) -> tuple[dict, dict, dict]:
    """Return runs per (job, six-hour bucket), failures and duration bins per bucket."""
    runs: dict = defaultdict(int)
    failures: dict = defaultdict(int)
    bins: dict = defaultdict(lambda: defaultdict(int))
    for (job, bucket), n in figures.runs.items():
        runs[(job, bucket * step // SIX_HOURS)] += n
    for bucket, n in figures.failures.items():
        failures[bucket * step // SIX_HOURS] += n
    for bucket, hist in figures.bucket_durations.items():
        for bin_, n in hist.bins.items():
            bins[bucket * step // SIX_HOURS][bin_] += n
    return (
        dict(runs),
        {b: n for b, n in failures.items() if n},
        {b: dict(h) for b, h in bins.items()},
    )


def per_job(figures: Grouped) -> dict:
    return {
        key: (f.runs, f.failures, f.last_failure_at, dict(f.durations.bins), dict(f.waits.bins))
        for key, f in figures.jobs.items()
        if f.runs
    }


def test_given_runs_across_days_when_read_by_six_hours_then_counts_and_percentiles_are_exact():
    store_runs()

    rollups_catch_up(now=NOW)
    figures = grouped(since=SINCE, now=NOW, step=SIX_HOURS)

    a = figures.jobs[("results", A)]
    b = figures.jobs[("results", B)]
    local = figures.jobs[("local", LOCAL)]
    assert (a.runs, a.failures, a.last_failure_at) == (
        5,
        2,
        datetime(2026, 11, 20, 15, 10, tzinfo=UTC),
    )
    assert (b.runs, b.failures, b.last_failure_at) == (
        3,
        1,
        datetime(2026, 11, 16, 5, 59, tzinfo=UTC),
    )
    assert (local.runs, local.failures) == (1, 1)
    expected_a = histogram([1.0, 2.0, 4.0, 6.0, 9.0])
    for fraction in (0.5, 0.95, 0.99):
        assert a.durations.percentile(fraction) == expected_a.percentile(fraction)
    assert a.durations.percentile(0.5) == pytest.approx(4.0, rel=0.2)
    assert b.durations.percentile(0.5) == pytest.approx(3.0, rel=0.2)
    assert a.waits.percentile(0.95) == pytest.approx(WAIT, rel=0.2)
    expected_runs: dict = defaultdict(int)
    for job, done, _s, _f in in_window():
        expected_runs[(job, int(done.timestamp()) // SIX_HOURS)] += 1
    expected_runs[
        (LOCAL, int(datetime(2026, 11, 15, 10, tzinfo=UTC).timestamp()) // SIX_HOURS)
    ] += 1
    assert dict(figures.runs) == dict(expected_runs)
    # Whole periods were read from six-hour rows: midnight's two sides are two of them.
    starts = set(QuarterDayRollup.objects.filter(metric="d").values_list("start", flat=True))
    assert {
        datetime(2026, 11, 13, 18, tzinfo=UTC),
        datetime(2026, 11, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 16, 6, tzinfo=UTC),
    } <= starts
    assert datetime(2026, 11, 20, 12, tzinfo=UTC) not in starts


def test_given_the_same_runs_when_read_live_hourly_or_six_hourly_then_the_figures_agree():
    store_runs()
    rollups_catch_up(now=NOW)

    six_hourly = grouped(since=SINCE, now=NOW, step=SIX_HOURS)
    hourly = grouped(since=SINCE, now=NOW, step=3600)
    live = grouped(since=SINCE, now=NOW, step=300)

    assert per_job(six_hourly) == per_job(hourly) == per_job(live)
    assert per_six_hours(six_hourly, SIX_HOURS) == per_six_hours(hourly, 3600)
    assert per_six_hours(hourly, 3600) == per_six_hours(live, 300)


def test_given_six_hour_rows_when_a_rollup_is_altered_then_the_six_hour_rows_are_what_is_read():
    store_runs()
    rollups_catch_up(now=NOW)
    QuarterDayRollup.objects.filter(job=B, start=datetime(2026, 11, 16, tzinfo=UTC)).update(
        runs=100
    )

    figures = grouped(since=SINCE, now=NOW, step=SIX_HOURS)

    # 100 from the changed row, and one run each from the periods of 00:00 (14th) and 06:00.
    assert figures.jobs[("results", B)].runs == 102


def test_given_a_period_finishing_when_caught_up_later_then_its_six_hour_row_appears_once():
    store_runs()
    rollups_catch_up(now=NOW)
    later = NOW + timedelta(hours=3)

    rollups_catch_up(now=later)
    rollups_catch_up(now=later)

    period = QuarterDayRollup.objects.filter(
        source="results", job=A, metric="d", start=datetime(2026, 11, 20, 12, tzinfo=UTC)
    )
    assert sum(period.values_list("runs", flat=True)) == 2
    figures = grouped(since=later - timedelta(days=7), now=later, step=SIX_HOURS)
    assert figures.jobs[("results", A)].runs == 4  # 16:30 on the 13th left the window


def test_given_old_rollups_when_pruned_then_six_hour_rows_go_with_the_hours():
    store_runs()
    rollups_catch_up(now=NOW)
    assert QuarterDayRollup.objects.filter(start__lt=datetime(2026, 11, 13, tzinfo=UTC)).exists()

    rollups_prune(now=NOW + timedelta(days=1, hours=3))

    oldest = datetime(2026, 11, 13, 18, tzinfo=UTC)
    assert not QuarterDayRollup.objects.filter(start__lt=oldest).exists()
    assert not RunRollup.objects.filter(hour__lt=oldest).exists()
    assert QuarterDayRollup.objects.filter(start__gte=oldest).exists()
