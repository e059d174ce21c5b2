"""The per-job table of the operations page: runs, failures, percentiles, last failure.

Celery and AnyIO runs come from the results table, local runs from `LocalJobRun`, both
through the grouped figures of `rollups`; every catalog job is listed, with or without
runs in the window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from operator import or_
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django_celery_results.models import TaskResult

from taskcenter.catalog import all_jobs
from taskcenter.models import LocalJobRun, RunRollup
from taskcenter.monitoring.figures import job_runtime
from taskcenter.monitoring.histograms import Grouped

SORT_KEYS = ("name", "runtime", "runs", "failures", "success_rate", "p50", "p95", "p99", "wait_p95")


@dataclass(frozen=True)
class JobRow:
    """One job's figures over the window."""

    name: str
    runtime: str
    runs: int = 0
    failures: int = 0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    wait_p95: float | None = None
    last_failure_at: datetime | None = None
    last_failure_url: str = ""
    runs_url: str = ""

    @property
    def success_rate(self) -> float | None:
        return None if not self.runs else (self.runs - self.failures) / self.runs


def _last_failure_urls(rows: dict[tuple[str, str], JobRow]) -> dict[tuple[str, str], str]:
    """Find each job's last failed run (one query per source) and link its admin page."""
    urls: dict[tuple[str, str], str] = {}
    celery = [
        Q(task_name=name, date_done=row.last_failure_at, status="FAILURE")
        for (source, name), row in rows.items()
        if source == RunRollup.Source.RESULTS and row.last_failure_at
    ]
    if celery:
        found = TaskResult.objects.filter(reduce(or_, celery)).values_list("task_name", "pk")
        for name, pk in found:
            urls[(RunRollup.Source.RESULTS, name)] = reverse(
                "admin:django_celery_results_taskresult_change", args=[pk]
            )
    local = [
        Q(job=name, created_at=row.last_failure_at, outcome="failed")
        for (source, name), row in rows.items()
        if source == RunRollup.Source.LOCAL and row.last_failure_at
    ]
    if local and admin.site.is_registered(LocalJobRun):
        found = LocalJobRun.objects.filter(reduce(or_, local)).values_list("job", "pk")
        for name, pk in found:
            urls[(RunRollup.Source.LOCAL, name)] = reverse(
                "admin:taskcenter_localjobrun_change", args=[pk]
            )
    return urls


def _runs_url(row: JobRow) -> str:
    if row.runtime == "local":
        if not admin.site.is_registered(LocalJobRun):
            return ""
        base = reverse("admin:taskcenter_localjobrun_changelist")
        return f"{base}?{urlencode({'job': row.name})}"
    base = reverse("admin:django_celery_results_taskresult_changelist")
    return f"{base}?{urlencode({'job': row.name})}"


def job_rows(*, figures: Grouped, sort: str = "name", descending: bool = False) -> list[JobRow]:
    """Return every job's row from the window's grouped figures, sorted by `sort`."""
    rows: dict[tuple[str, str], JobRow] = {}
    for (source, name), f in figures.jobs.items():
        rows[(source, name)] = JobRow(
            name=name,
            runtime="local" if source == RunRollup.Source.LOCAL else job_runtime(name),
            runs=f.runs,
            failures=f.failures,
            p50=f.durations.percentile(0.5),
            p95=f.durations.percentile(0.95),
            p99=f.durations.percentile(0.99),
            wait_p95=f.waits.percentile(0.95),
            last_failure_at=f.last_failure_at,
        )
    urls = _last_failure_urls(rows)
    out = {
        name: replace(row, last_failure_url=urls.get(key, ""))
        for key, row in rows.items()
        for name in [key[1]]
    }
    for job in all_jobs():
        out.setdefault(job.name, JobRow(name=job.name, runtime=str(job.runtime)))
    listed = [replace(r, runs_url=_runs_url(r)) for r in out.values()]
    key = sort if sort in SORT_KEYS else "name"

    def sort_key(row: JobRow) -> tuple:
        value = getattr(row, key)
        # Rows without a value (no run) sort last whichever the direction.
        missing = value is None
        return (missing if not descending else not missing, value if not missing else 0)

    listed.sort(key=lambda r: r.name)
    listed.sort(key=sort_key, reverse=descending)
    return listed
