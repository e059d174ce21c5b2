"""Faults 2 and 3: the whole worker SIGKILLed, or stopped with SIGTERM, mid-job.

SIGKILL: an idempotent run held by the dead worker is delivered to a new worker within
the visibility timeout plus one restore sweep. SIGTERM: the running job finishes, the
queued ones stay queued and run after the restart, each once.
"""

import time

import pytest

from tests.conftest import wait_for
from tests.faults.conftest import (
    RESTORE_INTERVAL,
    VISIBILITY,
    count,
    kill_worker,
    result_row,
    send,
    start_fault_worker,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

#: Slack on a loaded 2-core machine above the documented delay, for the worker's start-up.
SLACK = 30


def test_a_killed_workers_idempotent_run_reappears_within_the_visibility_timeout(
    own_redis, tmp_path
):
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    try:
        # Given an idempotent run in progress when the whole worker is SIGKILLed
        task_id = send(own_redis.url, "tests.faults.work_idempotent", seconds=2)
        wait_for(lambda: count(own_redis, "started", task_id) == 1, timeout=60, what="start")
        kill_worker(worker)
        killed_at = time.monotonic()
        assert result_row(task_id, "SUCCESS") is None
    finally:
        worker.stop()

    # When a new worker starts
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    try:
        # Then the run is delivered again within the visibility timeout and one sweep
        row = wait_for(
            lambda: result_row(task_id, "SUCCESS", "FAILURE"),
            timeout=VISIBILITY + RESTORE_INTERVAL + SLACK,
            what="the lost run to run again",
        )
        assert row.status == "SUCCESS", row.result
        assert time.monotonic() - killed_at <= VISIBILITY + RESTORE_INTERVAL + SLACK
        assert count(own_redis, "started", task_id) == 2
        assert count(own_redis, "done", task_id) == 1
    finally:
        worker.stop()


def test_sigterm_finishes_the_running_job_and_leaves_queued_ones_for_the_restart(
    own_redis, tmp_path
):
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    try:
        # Given a long at-most-once job running and three more queued behind it
        running = send(own_redis.url, "tests.faults.work_once", seconds=4)
        wait_for(lambda: count(own_redis, "started", running) == 1, timeout=60, what="start")
        queued = [send(own_redis.url, "tests.faults.work_once") for _ in range(3)]

        # When the worker gets SIGTERM (a warm shutdown) mid-job
        worker.popen.terminate()
        assert worker.popen.wait(60) == 0

        # Then the running job finished, and none of the queued ones ran
        assert result_row(running, "SUCCESS") is not None
        assert count(own_redis, "done", running) == 1
        assert all(count(own_redis, "started", q) == 0 for q in queued)
    finally:
        worker.stop()

    # And after the restart every queued job runs, once
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    try:
        for task_id in queued:
            wait_for(lambda t=task_id: result_row(t, "SUCCESS"), timeout=60, what="queued run")
        assert [count(own_redis, "started", q) for q in queued] == [1, 1, 1]
        assert count(own_redis, "started", running) == 1
    finally:
        worker.stop()
