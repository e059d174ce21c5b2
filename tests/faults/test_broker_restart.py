"""Fault 4: the broker (Redis with the append-only file on) killed and restarted under load.

Every run queued before the crash completes after the restart with no manual step, and
the worker that lost its connection reconnects by itself and takes new work.
"""

import signal
import time

import pytest

from tests.conftest import wait_for
from tests.faults.conftest import count, result_row, send, start_fault_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

RUNS = 6


def test_runs_queued_before_a_broker_crash_complete_after_its_restart(own_redis, tmp_path):
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    try:
        # Given idempotent runs queued behind one in progress
        queued = [
            send(own_redis.url, "tests.faults.work_idempotent", seconds=1) for _ in range(RUNS)
        ]
        wait_for(lambda: count(own_redis, "started", queued[0]) == 1, timeout=60, what="start")

        # When Redis is killed (no shutdown save), stays down a while, then starts again
        own_redis.stop(signal.SIGKILL)
        time.sleep(3)
        own_redis.start()

        # Then every queued run completes, and the worker (still the same process) goes on
        for task_id in queued:
            row = wait_for(
                lambda t=task_id: result_row(t, "SUCCESS", "FAILURE"),
                timeout=90,
                what="a run queued before the crash",
            )
            assert row.status == "SUCCESS", row.result
        assert all(count(own_redis, "done", t) >= 1 for t in queued)
        assert worker.popen.poll() is None
        after = send(own_redis.url, "tests.faults.work_once")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="a run sent after")
    finally:
        worker.stop()
