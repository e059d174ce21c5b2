"""Read the durable heartbeats of workers, beat and run_apscheduler.

A process is online when its last heartbeat is younger than
`TASKCENTER_HEARTBEAT_STALE_AFTER` and it has not said it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from taskcenter.models import BeatInstance, ProcessHeartbeat


@dataclass(frozen=True)
class ProcessView:
    """One process as the operations page and the metrics show it."""

    ident: str
    role: str
    hostname: str
    pid: int
    online: bool
    is_leader: bool
    seen_at: datetime
    started_at: datetime
    details: dict[str, Any]


def _fresh_since(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now - timedelta(seconds=float(settings.TASKCENTER_HEARTBEAT_STALE_AFTER))


def processes_online_count(*, role: str) -> int:
    """Return how many processes of `role` have a fresh heartbeat."""
    return (
        ProcessHeartbeat.objects.filter(role=role, seen_at__gte=_fresh_since())
        .filter(Q(details__stopped__isnull=True) | Q(details__stopped=False))
        .count()
    )


def processes_list(*, role: str | None = None) -> list[ProcessView]:
    """Return every known process (of `role`), online or not, newest heartbeat first."""
    since = _fresh_since()
    rows = ProcessHeartbeat.objects.order_by("role", "-seen_at")
    if role:
        rows = rows.filter(role=role)
    return [
        ProcessView(
            ident=row.ident,
            role=row.role,
            hostname=row.hostname,
            pid=row.pid,
            online=row.seen_at >= since and not (row.details or {}).get("stopped"),
            is_leader=row.is_leader,
            seen_at=row.seen_at,
            started_at=row.started_at,
            details=row.details or {},
        )
        for row in rows[:200]
    ]


def beat_leader_last_tick() -> datetime | None:
    """Return the last tick of beat's current leader (None when no beat leads)."""
    row = BeatInstance.objects.filter(is_leader=True).order_by("-last_tick_at").first()
    return row.last_tick_at if row else None
