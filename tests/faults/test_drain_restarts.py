"""Fault 9: a thousand runs drained while the worker is restarted twice: each runs once.

The runs are at-most-once jobs; a warm restart (SIGTERM) finishes what is running and
hands back what was prefetched, so the drain ends with exactly one success per run and
no run started twice.
"""

import uuid

import pytest
from django_celery_results.models import TaskResult

from config.celery import app
from tests.conftest import wait_for
from tests.faults.conftest import QUEUE, start_fault_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

RUNS = 1000


def _successes(ids: list[str]) -> int:
    return TaskResult.objects.filter(task_id__in=ids, status="SUCCESS").count()


def test_a_thousand_runs_drain_once_each_across_two_worker_restarts(own_redis, tmp_path):
    # Given a thousand runs queued at once
    ids = [str(uuid.uuid4()) for _ in range(RUNS)]
    with app.connection_for_write(own_redis.url) as conn:
        for task_id in ids:
            app.send_task(
                "tests.faults.work_once", kwargs={}, task_id=task_id, queue=QUEUE, connection=conn
            )

    # When the worker draining them is stopped and started again twice midway
    for restart in range(2):
        worker = start_fault_worker(tmp_path, own_redis.url, concurrency=2)
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
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=2)
    try:
        # Then every run succeeds exactly once, and none started twice
        wait_for(lambda: _successes(ids) == RUNS, timeout=180, what="the drain to finish")
        client = own_redis.client()
        started = client.mget([f"faults:started:{t}" for t in ids])
        assert sorted({int(s or 0) for s in started}) == [1]
        assert TaskResult.objects.filter(task_id__in=ids).exclude(status="SUCCESS").count() == 0
    finally:
        worker.stop()
