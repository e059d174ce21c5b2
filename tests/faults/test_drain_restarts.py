"""Fault 9: a thousand runs drained while the worker is restarted twice: each runs once.

The runs are at-most-once jobs, with no idempotency key; a warm restart (SIGTERM)
finishes what is running and hands back what was prefetched. A stopping worker can still
lose an acknowledgement, and then the broker (Redis or RabbitMQ alike) delivers that
message again; the second-start guard (a count per attempt in the task center's Redis)
skips it, so the drain ends with exactly one success per run and no run started twice.
Without the guard, RabbitMQ started a run twice here. Runs on both brokers.
"""

import pytest
from django_celery_results.models import TaskResult

from tests.conftest import wait_for
from tests.faults.conftest import send_many, start_fault_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

RUNS = 1000


def _successes(ids: list[str]) -> int:
    return TaskResult.objects.filter(task_id__in=ids, status="SUCCESS").count()


def test_a_thousand_runs_drain_once_each_across_two_worker_restarts(broker, tmp_path):
    # Given a thousand at-most-once runs queued at once
    ids = send_many(broker.url, "tests.faults.work_once", RUNS)

    # When the worker draining them is stopped (SIGTERM) and started again twice midway
    for restart in range(2):
        worker = start_fault_worker(tmp_path, broker.url, concurrency=2)
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
    worker = start_fault_worker(tmp_path, broker.url, concurrency=2)
    try:
        # Then every run succeeds exactly once, and none started twice
        wait_for(lambda: _successes(ids) == RUNS, timeout=180, what="the drain to finish")
        started = broker.counts.client().mget([f"faults:started:{t}" for t in ids])
        assert sorted({int(s or 0) for s in started}) == [1]
        assert TaskResult.objects.filter(task_id__in=ids).exclude(status="SUCCESS").count() == 0
    finally:
        worker.stop()
