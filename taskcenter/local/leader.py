"""The run_apscheduler leader lease: any number may run, exactly one fires jobs.

The same lease as beat's (`taskcenter.beat.leader`): a Redis key when REDIS_URL is set,
a `BeatLease` row on the embedded default, each under its own key
(TASKCENTER_LOCAL_LEASE_KEY). The holder trusts it until `acquired + ttl * SAFETY` on its
own monotonic clock; every job start checks that (no I/O), so a leader that lost Redis
or its database, or stalled, stops starting jobs before a standby may take over.
"""

from __future__ import annotations

import os
import socket

from django.conf import settings

from taskcenter.beat.leader import Lease, lease_for, make_ident


def local_lease(*, ident: str | None = None) -> Lease:
    """Return this process's lease on the local scheduler (not yet acquired)."""
    return lease_for(
        redis_url=settings.REDIS_URL,
        key=settings.TASKCENTER_LOCAL_LEASE_KEY,
        ident=ident or make_ident(),
        ttl=float(settings.TASKCENTER_LOCAL_LEASE_TTL),
    )


def renew_interval(ttl: float) -> float:
    """Seconds between renewals: a quarter of the TTL, at most 1 s (as beat)."""
    return min(1.0, ttl / 4)


def process_name() -> str:
    """hostname:pid, as stored on each LocalJobRun."""
    return f"{socket.gethostname()}:{os.getpid()}"
