"""Housekeeping: expired sessions, old task results and old local job runs."""

import logging
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone

from taskcenter.alerts.checks import (
    alerts_check_local_runs,
    alerts_check_missed_runs,
    alerts_check_processes,
)
from taskcenter.alerts.services import alerts_sweep
from taskcenter.results.retention import PURGE_BATCH, results_purge
from taskcenter.services.local_jobs import local_job_runs_purge

logger = logging.getLogger(__name__)


def sessions_clear_expired() -> int:
    """Delete expired database sessions; return how many were removed."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def results_delete_older_than(*, days: int, batch: int = PURGE_BATCH) -> int:
    """Delete task results finished more than `days` ago, `batch` rows per statement.

    The nightly `jobs.maintenance.purge_results` calls this; the batching lives in
    `taskcenter.results.retention`, so a million old rows never sit in memory.
    """
    return results_purge(older_than=timedelta(days=days), batch=batch)


def alerts_run_checks() -> int:
    """Run every timed alert check and the summary sweep; return how many alerts were made."""
    made = (
        alerts_check_missed_runs()
        + alerts_check_local_runs()
        + alerts_check_processes()
        + alerts_sweep()
    )
    return len(made)


def local_runs_delete_older_than(*, days: int, batch: int = PURGE_BATCH) -> int:
    """Delete local job runs recorded more than `days` ago, `batch` rows per statement."""
    return local_job_runs_purge(older_than=timedelta(days=days), batch=batch)
