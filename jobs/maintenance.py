"""Local maintenance jobs, run by `manage.py run_apscheduler`."""

from django.conf import settings

from jobs.logic.maintenance import (
    alerts_run_checks,
    local_runs_delete_older_than,
    results_delete_older_than,
    sessions_clear_expired,
)
from taskcenter.catalog import local_job
from taskcenter.monitoring.rollups import rollups_catch_up


@local_job("jobs.maintenance.clear_sessions", trigger="cron", minute=17, jitter=60)
def clear_sessions() -> int:
    """Delete expired login sessions, hourly."""
    return sessions_clear_expired()


@local_job("jobs.maintenance.purge_results", trigger="cron", hour=3, minute=30, jitter=300)
def purge_results() -> int:
    """Delete task results older than RESULTS_RETENTION_DAYS, nightly, in batches."""
    return results_delete_older_than(days=settings.RESULTS_RETENTION_DAYS)


@local_job("jobs.maintenance.check_alerts", trigger="interval", seconds=30)
def check_alerts() -> int:
    """Alert on missed runs and silent processes, and send the summaries due; every 30 s."""
    return alerts_run_checks()


@local_job("jobs.maintenance.roll_up_runs", trigger="cron", minute=1, jitter=20)
def roll_up_runs() -> None:
    """Roll the last hour (and a six-hour period just ended) up for the operations page."""
    rollups_catch_up()


@local_job("jobs.maintenance.purge_local_runs", trigger="cron", hour=3, minute=45, jitter=300)
def purge_local_runs() -> int:
    """Delete local job runs older than LOCAL_RUNS_RETENTION_DAYS, nightly, in batches."""
    return local_runs_delete_older_than(days=settings.LOCAL_RUNS_RETENTION_DAYS)
