"""The window's figures per job, time bucket and log-scale bin, and how rows add up to them.

Rollup rows and live rows come as (job, bucket, bin, runs, failures, last failure); the
page's tables and charts read the sums, and percentiles are interpolated inside a bin.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone

# Each bin 20 % wider than the last: about 40 bins from 10 ms to 10 s, which keeps the
# rollup small while a percentile stays within one bin (interpolated inside it).
BASE = 1.2
# Shorter than 10 ms counts as 10 ms: the bins need a floor.
FLOOR_SECONDS = 0.01
MIN_BIN = math.floor(math.log(FLOOR_SECONDS) / math.log(BASE))
UNKNOWN = -1000


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


def add_rows(out: Grouped, source: str, metric: str, rows, to_bucket) -> None:
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
            last_failure = aware(last_failure)
            if figures.last_failure_at is None or last_failure > figures.last_failure_at:
                figures.last_failure_at = last_failure
        by_job[(key[1], bucket)] += runs
        failed[bucket] += failures
        by_bucket[bucket].add(bin_, runs)


def aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def merge(out: Grouped, part: Grouped) -> None:
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
