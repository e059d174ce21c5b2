"""The per-job table of the operations page: runs, failures, percentiles, last failure.

Celery and AnyIO runs are read from the results table, local runs from `LocalJobRun`;
each source costs a fixed handful of aggregate statements, and every catalog job is
listed, with or without runs in the window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from operator import or_
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Count, Max, Q
from django.urls import reverse
from django_celery_results.models import TaskResult

from taskcenter.catalog import all_jobs
from taskcenter.models import LocalJobRun
from taskcenter.monitoring import sql
from taskcenter.monitoring.figures import job_runtime

FINAL = ("SUCCESS", "FAILURE", "REVOKED")
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


def _celery_rows(since: datetime) -> dict[str, JobRow]:
    counts = (
        TaskResult.objects.filter(date_done__gte=since, status__in=FINAL)
        .values("task_name")
        .annotate(
            runs=Count("id"),
            failures=Count("id", filter=Q(status="FAILURE")),
            last_failure=Max("date_done", filter=Q(status="FAILURE")),
        )
        .order_by()
    )
    table = TaskResult._meta.db_table
    source = (
        f"SELECT task_name, {sql.seconds_between('date_started', 'date_done')} AS d, "
        f"{sql.seconds_between('date_created', 'date_started')} AS w FROM {table} "
        "WHERE date_done >= %s AND status IN ('SUCCESS', 'FAILURE') AND date_started IS NOT NULL"
    )
    pcts = sql.percentiles(
        source=source,
        params=[sql.when(since)],
        group="task_name",
        values={"p50": ("d", 0.5), "p95": ("d", 0.95), "p99": ("d", 0.99), "wp95": ("w", 0.95)},
    )
    rows = {}
    failed = []
    for c in counts:
        name = c["task_name"] or ""
        p = pcts.get(name, {})
        rows[name] = JobRow(
            name=name,
            runtime=job_runtime(name),
            runs=c["runs"],
            failures=c["failures"],
            p50=p.get("p50"),
            p95=p.get("p95"),
            p99=p.get("p99"),
            wait_p95=p.get("wp95"),
            last_failure_at=c["last_failure"],
        )
        if c["last_failure"]:
            failed.append(Q(task_name=name, date_done=c["last_failure"], status="FAILURE"))
    if failed:
        last_ids = TaskResult.objects.filter(reduce(or_, failed)).values_list("task_name", "pk")
        for name, pk in last_ids:
            url = reverse("admin:django_celery_results_taskresult_change", args=[pk])
            rows[name] = replace(rows[name], last_failure_url=url)
    return rows


def _local_rows(since: datetime) -> dict[str, JobRow]:
    counts = (
        LocalJobRun.objects.filter(created_at__gte=since, outcome__in=("success", "failed"))
        .values("job")
        .annotate(
            runs=Count("id"),
            failures=Count("id", filter=Q(outcome="failed")),
            last_failure=Max("created_at", filter=Q(outcome="failed")),
            last_failure_id=Max("id", filter=Q(outcome="failed")),
        )
        .order_by()
    )
    table = LocalJobRun._meta.db_table
    source = (
        f"SELECT job, duration AS d, {sql.seconds_between('scheduled_at', 'started_at')} AS w "
        f"FROM {table} WHERE created_at >= %s AND outcome IN ('success', 'failed')"
    )
    pcts = sql.percentiles(
        source=source,
        params=[sql.when(since)],
        group="job",
        values={"p50": ("d", 0.5), "p95": ("d", 0.95), "p99": ("d", 0.99), "wp95": ("w", 0.95)},
    )
    registered = admin.site.is_registered(LocalJobRun)
    rows = {}
    for c in counts:
        p = pcts.get(c["job"], {})
        url = ""
        if registered and c["last_failure_id"]:
            url = reverse("admin:taskcenter_localjobrun_change", args=[c["last_failure_id"]])
        rows[c["job"]] = JobRow(
            name=c["job"],
            runtime="local",
            runs=c["runs"],
            failures=c["failures"],
            p50=p.get("p50"),
            p95=p.get("p95"),
            p99=p.get("p99"),
            wait_p95=p.get("wp95"),
            last_failure_at=c["last_failure"],
            last_failure_url=url,
        )
    return rows


def _runs_url(row: JobRow) -> str:
    if row.runtime == "local":
        if not admin.site.is_registered(LocalJobRun):
            return ""
        base = reverse("admin:taskcenter_localjobrun_changelist")
        return f"{base}?{urlencode({'job': row.name})}"
    base = reverse("admin:django_celery_results_taskresult_changelist")
    return f"{base}?{urlencode({'job': row.name})}"


def job_rows(*, since: datetime, sort: str = "name", descending: bool = False) -> list[JobRow]:
    """Return every job's row over the window since `since`, sorted by `sort`."""
    rows = {**_celery_rows(since), **_local_rows(since)}
    for job in all_jobs():
        rows.setdefault(job.name, JobRow(name=job.name, runtime=str(job.runtime)))
    out = [replace(r, runs_url=_runs_url(r)) for r in rows.values()]
    key = sort if sort in SORT_KEYS else "name"

    def sort_key(row: JobRow) -> tuple:
        value = getattr(row, key)
        # Rows without a value (no run) sort last whichever the direction.
        missing = value is None
        return (missing if not descending else not missing, value if not missing else 0)

    out.sort(key=lambda r: r.name)
    out.sort(key=sort_key, reverse=descending)
    return out
