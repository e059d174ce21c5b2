"""Record each queue's depth once a minute; drop samples and rollups past the longest window."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from taskcenter.models import QueueSample
from taskcenter.monitoring.figures import queues_with_age
from taskcenter.monitoring.rollups import rollups_prune

# The operations page charts at most 7 days; one more keeps the oldest bucket whole.
KEEP = timedelta(days=8)


def queue_samples_record(*, timeout: float, now: datetime | None = None) -> int:
    """Sample every queue for the current minute (the first writer of a minute wins)."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    rows = [
        QueueSample(queue=q.queue, minute=minute, waiting=q.waiting, oldest_age=q.oldest_age)
        for q in queues_with_age(timeout=timeout)
    ]
    QueueSample.objects.bulk_create(rows, ignore_conflicts=True)
    if minute.minute == 0:
        QueueSample.objects.filter(minute__lt=minute - KEEP).delete()
        rollups_prune(now=now)
    return len(rows)
