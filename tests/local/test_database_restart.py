"""run_apscheduler keeps firing and recording through a restart of its database server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import wait_for
from tests.local.conftest import wait_for_log
from tests.servers import MariaDB

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DB = "tc_local_restart"


def started_times(server: MariaDB) -> list[float]:
    """Start times (epoch) of the recorded tick runs, read straight from the private server."""
    conn = server.connect(DB)
    try:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT UNIX_TIMESTAMP(started_at) FROM taskcenter_localjobrun "
            "WHERE job = 'tests.local.tick' AND outcome = 'success' ORDER BY started_at"
        )
        return [float(row[0]) for row in cursor.fetchall()]
    finally:
        conn.close()


def test_a_database_restart_under_the_scheduler_does_not_stop_it(schedulers, tmp_path: Path):
    server = MariaDB(tmp_path / "mariadb")
    server.start()
    try:
        own = settings.DATABASES["default"]
        server.copy_schema(
            source_db=own["NAME"],
            host=own["HOST"],
            port=int(own["PORT"] or 3306),
            target_db=DB,
            triggers=False,
        )
        proc = schedulers.start_leader("tests.local.tick", DATABASE_URL=server.url(DB))
        wait_for(lambda: len(started_times(server)) >= 2, timeout=30, what="runs recorded")

        server.stop()
        down_from = time.time()
        wait_for_log(proc, "database unavailable", timeout=20)
        down_until = time.time() + 2  # at least two slots while the server is away
        wait_for(lambda: time.time() > down_until, timeout=10)
        server.start()
        back_at = time.time()

        wait_for(
            lambda: any(t > back_at + 1 for t in started_times(server)),
            timeout=30,
            what="a run after the restart",
        )
        assert proc.popen.poll() is None
        during = [t for t in started_times(server) if down_from < t < back_at]
        assert during, "runs made while the database was away were not recorded once it was back"
        assert "database back" in proc.output()
    finally:
        server.stop()
