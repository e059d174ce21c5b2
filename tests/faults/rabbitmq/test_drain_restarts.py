"""Fault 9 on RabbitMQ: a thousand at-most-once runs drained across two warm restarts.

The same drain as on Redis (`tests/faults/test_drain_restarts.py`), on a private vhost:
each run succeeds exactly once and none is started twice. RabbitMQ too redelivers a
message whose acknowledgement a stopping worker never sent, so the same second-start guard
(a count per attempt in the task center's Redis) keeps each run to one start; without it
this test saw a run started twice. At-most-once jobs, no idempotency key.
"""

import pytest
from django_celery_results.models import TaskResult

from tests.conftest import wait_for
from tests.faults.conftest import SuiteRedis, send_many, start_fault_worker
from tests.faults.test_drain_restarts import RUNS, _successes

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_thousand_runs_drain_once_each_across_two_worker_restarts_on_rabbitmq(
    rabbit_vhost, tmp_path
):
    # Given a thousand at-most-once runs queued at once on the quorum queue
    ids = send_many(rabbit_vhost.url, "tests.faults.work_once", RUNS)

    # When the worker draining them is stopped (SIGTERM) and started again twice midway
    for restart in range(2):
        worker = start_fault_worker(tmp_path, rabbit_vhost.url, concurrency=2)
        try:
            wait_for(
                lambda r=restart: _successes(ids) >= (r + 1) * RUNS // 4,
                timeout=120,
                what="the drain to progress",
            )
            worker.popen.terminate()
            assert worker.popen.wait(60) == 0
        finally:
            worker.stop()
    worker = start_fault_worker(tmp_path, rabbit_vhost.url, concurrency=2)
    try:
        # Then every run succeeds exactly once, and none started twice
        wait_for(lambda: _successes(ids) == RUNS, timeout=180, what="the drain to finish")
        started = SuiteRedis().client().mget([f"faults:started:{t}" for t in ids])
        assert sorted({int(s or 0) for s in started}) == [1]
        assert TaskResult.objects.filter(task_id__in=ids).exclude(status="SUCCESS").count() == 0
    finally:
        worker.stop()
