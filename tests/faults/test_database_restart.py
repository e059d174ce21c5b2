"""Fault 5: MySQL (the test's own mariadbd) killed and restarted under a worker and beat.

A run that finishes while the database is down has its result stored once it is back
(the results backend stores again on a new connection); the worker and beat outlive the
outage (and so does `run_apscheduler`), and the worker takes new work afterwards.
"""

import signal
import sys
import time

import pytest

from tests.conftest import Proc, start_beat, wait_for
from tests.faults.conftest import FAULTS_DB, count, fault_env, send, start_fault_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def _status(db, task_id: str) -> str | None:
    rows = db.sql(
        f"SELECT status FROM {FAULTS_DB}.django_celery_results_taskresult"
        f" WHERE task_id = '{task_id}'",
        check=False,
    )
    return rows.stdout.strip() or None if rows.returncode == 0 else None


def test_a_result_finished_while_mysql_is_down_is_stored_when_it_is_back(
    own_redis, own_mariadb, tmp_path
):
    # Time limits well above the outage: storing the result again counts against them.
    env = fault_env(
        own_redis.url,
        DATABASE_URL=own_mariadb.url(FAULTS_DB),
        CELERY_TASK_TIME_LIMIT="120",
        CELERY_TASK_SOFT_TIME_LIMIT="110",
        CELERY_VISIBILITY_TIMEOUT="150",
    )
    worker = start_fault_worker(tmp_path, own_redis.url, env=env)
    beat = start_beat(tmp_path, env={**env, "TASKCENTER_BEAT_LEASE_TTL": "4"})
    local = Proc(
        [sys.executable, "manage.py", "run_apscheduler"], tmp_path / "apscheduler.log", env
    )
    try:
        wait_for(lambda: ": leading" in beat.output(), timeout=60, what="beat to lead")

        # Given a run in progress when the database is killed
        task_id = send(own_redis.url, "tests.faults.work_idempotent", seconds=2)
        wait_for(lambda: count(own_redis, "started", task_id) == 1, timeout=60, what="start")
        own_mariadb.stop(signal.SIGKILL)

        # When the run finishes during the outage, and the database comes back later
        wait_for(lambda: count(own_redis, "done", task_id) == 1, timeout=60, what="the run end")
        time.sleep(3)
        own_mariadb.start()

        # Then its result is stored, and worker, beat and run_apscheduler are still running
        wait_for(lambda: _status(own_mariadb, task_id) == "SUCCESS", timeout=90, what="result")
        assert worker.popen.poll() is None
        assert beat.popen.poll() is None
        assert local.popen.poll() is None, local.output()[-2000:]

        # And the worker stores the next run's result on its new connection
        after = send(own_redis.url, "tests.faults.work_once")
        wait_for(lambda: _status(own_mariadb, after) == "SUCCESS", timeout=60, what="next run")
        assert beat.popen.poll() is None
        assert local.popen.poll() is None, local.output()[-2000:]
        assert count(own_redis, "started", task_id) == 1
        assert "Failed operation _store_result. Retrying" in worker.output()
    finally:
        local.stop()
        beat.stop()
        worker.stop()
