"""Housekeeping: expired sessions and old task results."""

import logging
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone
from django_celery_results.models import TaskResult

logger = logging.getLogger(__name__)

#: Rows deleted per statement: large enough to be quick, small enough that one DELETE
#: never holds locks on MySQL for long or grows the undo log without bound.
DELETE_BATCH = 5000


def sessions_clear_expired() -> int:
    """Delete expired database sessions; return how many were removed."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def results_delete_older_than(*, days: int, batch: int = DELETE_BATCH) -> int:
    """Delete task results finished more than `days` ago, `batch` rows per statement.

    Only ids are read, one batch at a time, so a million old rows never sit in memory.
    """
    cutoff = timezone.now() - timedelta(days=days)
    old = TaskResult.objects.filter(date_done__lt=cutoff).order_by("id")
    total = 0
    while ids := list(old.values_list("id", flat=True)[:batch]):
        deleted, _ = TaskResult.objects.filter(id__in=ids).delete()
        total += deleted
    if total:
        logger.info("deleted %d task results older than %d days", total, days)
    return total
