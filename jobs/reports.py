"""Report jobs (Celery, `reports` queue)."""

from typing import Any

from jobs.logic.reports import report_build
from taskcenter.catalog import celery_job


@celery_job("jobs.reports.build_report", queue="reports")
def build_report(since_hours: int = 24, fmt: str = "json") -> dict[str, Any]:
    """Write task statistics (per job and state) for the last hours as JSON or CSV."""
    return report_build(since_hours=since_hours, fmt=fmt)
