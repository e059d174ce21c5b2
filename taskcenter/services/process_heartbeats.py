"""Write the durable heartbeat row of a long-running process (worker, beat, apscheduler)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from taskcenter.models import ProcessHeartbeat


def heartbeat_record(
    *,
    ident: str,
    role: str,
    hostname: str,
    pid: int,
    started_at: datetime,
    details: dict[str, Any],
    is_leader: bool = False,
) -> None:
    """Store that process `ident` is alive now, with what it reports about itself."""
    ProcessHeartbeat.objects.update_or_create(
        ident=ident[:190],
        defaults={
            "role": role,
            "hostname": hostname[:255],
            "pid": pid,
            "is_leader": is_leader,
            "details": details,
            "started_at": started_at,
            "seen_at": timezone.now(),
        },
    )
