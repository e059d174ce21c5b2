"""Report jobs (Celery, `reports` queue)."""

from typing import Any

from taskcenter.catalog import celery_job
from taskcenter.services.reports import report_build


@celery_job("jobs.reports.build_report", queue="reports")
def build_report(since_hours: int = 24, fmt: str = "json") -> dict[str, Any]:
    """Write task statistics (per job and state) for the last hours as JSON or CSV."""
    return report_build(since_hours=since_hours, fmt=fmt)
