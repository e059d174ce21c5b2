"""A leader that loses its lease store stops firing before anyone else may take over."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

import tests.local.jobs  # noqa: F401  (the test jobs, in this process's catalog too)
from taskcenter.models import LocalJobRun
from tests.conftest import wait_for
from tests.local.conftest import LEASE_TTL, wait_for_log
from tests.local.mariadb import free_port

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class PrivateRedis:
    """A redis-server of the test's own on a free port (never the machine's)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, timeout=20, what="the private redis-server")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def test_a_leader_that_loses_redis_stops_firing_within_the_ttl_and_leads_again_after(
    schedulers, tmp_path: Path
):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is needed for a private Redis")
    store = PrivateRedis(tmp_path)
    store.start()
    try:
        proc = schedulers.start_leader(
            "tests.local.tick", REDIS_URL=f"redis://127.0.0.1:{store.port}/0"
        )
        wait_for(lambda: LocalJobRun.objects.filter(job="tests.local.tick").exists(), timeout=20)

        store.stop()
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
        store.stop()


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
