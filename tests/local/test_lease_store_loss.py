"""A leader that loses its lease store stops firing before anyone else may take over."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tests.local.jobs  # noqa: F401  (the test jobs, in this process's catalog too)
from taskcenter.models import LocalJobRun
from tests.conftest import wait_for
from tests.local.conftest import LEASE_TTL, wait_for_log
from tests.servers import RedisServer

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_leader_that_loses_redis_stops_firing_within_the_ttl_and_leads_again_after(
    schedulers, tmp_path: Path
):
    store = RedisServer(tmp_path)
    store.start()
    try:
        proc = schedulers.start_leader(
            "tests.local.tick", REDIS_URL=f"redis://127.0.0.1:{store.port}/0"
        )
        wait_for(lambda: LocalJobRun.objects.filter(job="tests.local.tick").exists(), timeout=20)

        store.stop(signal.SIGKILL)
        lost_at = time.time()
        wait_for_log(proc, "standing by (lost the leader lease)", timeout=LEASE_TTL + 10)
        quiet_from = lost_at + LEASE_TTL  # the leader trusts its lease for 80% of the TTL
        wait_for(lambda: time.time() > quiet_from + 2, timeout=LEASE_TTL + 10)
        late = LocalJobRun.objects.filter(job="tests.local.tick", started_at__gt=_dt(quiet_from))
        assert not late.exists(), "the leader kept firing without its lease"

        store.start()
        back_at = time.time()
        wait_for(
            lambda: LocalJobRun.objects.filter(
                job="tests.local.tick", started_at__gt=_dt(back_at)
            ).exists(),
            timeout=20,
            what="runs once Redis is back",
        )
        assert proc.popen.poll() is None
    finally:
        store.stop(signal.SIGKILL)


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
