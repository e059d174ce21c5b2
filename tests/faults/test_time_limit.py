"""Fault 8: a run past its hard time limit fails with a time-limit error; the worker goes on."""

import pytest

from tests.conftest import wait_for
from tests.faults.conftest import count, result_row, send, start_fault_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_run_past_its_hard_time_limit_fails_and_the_worker_carries_on(own_redis, tmp_path):
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    try:
        # Given a run that sleeps far past its two-second hard time limit
        task_id = send(own_redis.url, "tests.faults.overrun", seconds=30)

        # Then it ends FAILURE with a time-limit error, long before it would have finished
        row = wait_for(lambda: result_row(task_id, "FAILURE"), timeout=25, what="its failure")
        assert "TimeLimitExceeded" in row.result
        assert count(own_redis, "done", task_id) == 0

        # And the same worker runs the next job
        after = send(own_redis.url, "tests.faults.work_once")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="the next run")
        assert worker.popen.poll() is None
        assert count(own_redis, "started", task_id) == 1
    finally:
        worker.stop()
