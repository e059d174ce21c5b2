"""Read local jobs for the admin: run stats per job, next run times, who leads run_apscheduler.

Next run times live only in the leading process (its job store is in memory); it writes
them into its heartbeat row, so they are as fresh as TASKCENTER_LOCAL_HEARTBEAT_INTERVAL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from taskcenter.models import LocalJobRun, ProcessHeartbeat

#: Runs of the last week make the success rate: recent enough to reflect a fix.
STATS_DAYS = 7


@dataclass(frozen=True)
class LocalRunStats:
    """Last run and success rate of one local job."""

    last_outcome: str | None
    last_duration: float | None
    last_at: datetime | None
    finished: int
    succeeded: int

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.finished if self.finished else None


@dataclass(frozen=True)
class LocalSchedulerStatus:
    """The leading run_apscheduler (None when none reported lately) and the standbys."""

    leader: ProcessHeartbeat | None
    standbys: list[ProcessHeartbeat]

    def next_run(self, job: str) -> datetime | None:
        if self.leader is None:
            return None
        value = (self.leader.details or {}).get("next_run_times", {}).get(job)
        return parse_datetime(value) if value else None


def local_job_run_stats(*, names: list[str], days: int = STATS_DAYS) -> dict[str, LocalRunStats]:
    """Return each job's last run and its success rate over `days`, in two queries."""
    since = timezone.now() - timedelta(days=days)
    counts = (
        LocalJobRun.objects.filter(job__in=names, created_at__gte=since)
        .values("job")
        .annotate(
            finished=Count("id", filter=Q(outcome__in=["success", "failed"])),
            succeeded=Count("id", filter=Q(outcome="success")),
            last_id=Max("id"),
        )
    )
    by_job = {row["job"]: row for row in counts}
    last = LocalJobRun.objects.in_bulk([row["last_id"] for row in by_job.values()])
    stats = {}
    for job, row in by_job.items():
        run = last.get(row["last_id"])
        stats[job] = LocalRunStats(
            last_outcome=run.outcome if run else None,
            last_duration=run.duration if run else None,
            last_at=(run.finished_at or run.created_at) if run else None,
            finished=row["finished"],
            succeeded=row["succeeded"],
        )
    return stats


def local_scheduler_status(*, now: datetime | None = None) -> LocalSchedulerStatus:
    """Return the run_apscheduler processes seen within twice the lease TTL."""
    now = now or timezone.now()
    fresh = max(
        2 * float(settings.TASKCENTER_LOCAL_LEASE_TTL),
        3 * float(settings.TASKCENTER_LOCAL_HEARTBEAT_INTERVAL),
    )
    rows = list(
        ProcessHeartbeat.objects.filter(
            role=ProcessHeartbeat.Role.APSCHEDULER, seen_at__gte=now - timedelta(seconds=fresh)
        ).order_by("-is_leader", "-seen_at")
    )
    leader = rows[0] if rows and rows[0].is_leader else None
    return LocalSchedulerStatus(leader=leader, standbys=[r for r in rows if r is not leader])
