"""Fault 1: a worker's pool child SIGKILLed mid-job, and a job that kills its worker each time.

An idempotent job runs again and ends SUCCESS once; an at-most-once job is marked failed
with the reason and dead-lettered; a job that kills every worker running it is refused
after `TASKCENTER_MAX_DELIVERIES` deliveries and dead-lettered with the reason. The first
test runs on both brokers (the test's own redis-server, a private RabbitMQ vhost).
"""

import os
import signal

import pytest

from taskcenter.models import DeadLetter
from tests.conftest import wait_for
from tests.faults.conftest import count, result_row, send, start_fault_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def _kill_child_once_started(counts, task_id: str) -> None:
    wait_for(
        lambda: count(counts, "started", task_id) == 1,
        timeout=60,
        what="the run to start",
    )
    pid = int(counts.client().get(f"faults:pid:{task_id}"))
    os.kill(pid, signal.SIGKILL)


def test_killed_child_reruns_an_idempotent_job_and_fails_an_at_most_once_one(broker, tmp_path):
    worker = start_fault_worker(tmp_path, broker.url, concurrency=1)
    try:
        # Given an idempotent run whose pool child is killed mid-job
        again = send(broker.url, "tests.faults.work_idempotent", seconds=3)
        _kill_child_once_started(broker.counts, again)

        # Then it is delivered again, runs to the end once and ends SUCCESS
        row = wait_for(
            lambda: result_row(again, "SUCCESS", "FAILURE"), timeout=60, what="its result"
        )
        assert row.status == "SUCCESS", row.result
        assert count(broker.counts, "started", again) == 2
        assert count(broker.counts, "done", again) == 1
        assert not DeadLetter.objects.filter(task_id=again).exists()

        # Given an at-most-once run whose pool child is killed mid-job
        once = send(broker.url, "tests.faults.work_once", seconds=3)
        _kill_child_once_started(broker.counts, once)

        # Then it is marked failed with the reason and dead-lettered, and never runs again
        row = wait_for(lambda: result_row(once, "FAILURE"), timeout=60, what="its failure")
        assert "WorkerLostError" in row.result
        letter = wait_for(
            lambda: DeadLetter.objects.filter(task_id=once).first(), what="its dead letter"
        )
        assert letter.exception_type == "WorkerLostError"
        assert "SIGKILL" in letter.message or "signal 9" in letter.message

        # And the worker carries on: the next run succeeds
        after = send(broker.url, "tests.faults.work_once")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="the next run")
        assert count(broker.counts, "started", once) == 1
    finally:
        worker.stop()


def test_a_job_that_kills_its_worker_every_time_is_dead_lettered_after_the_cap(
    own_redis, tmp_path, settings
):
    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    try:
        # Given an idempotent job that kills the process running it on every delivery
        task_id = send(own_redis.url, "tests.faults.kill_own_worker")

        # Then after the capped number of deliveries it fails with the reason, dead-lettered
        row = wait_for(lambda: result_row(task_id, "FAILURE"), timeout=120, what="its failure")
        assert "DeliveryLimitError" in row.result
        assert count(own_redis, "started", task_id) == settings.TASKCENTER_MAX_DELIVERIES
        letter = wait_for(
            lambda: DeadLetter.objects.filter(task_id=task_id).first(), what="its dead letter"
        )
        assert letter.exception_type == "DeliveryLimitError"
        assert "its worker was lost each time" in letter.message

        # And the worker still takes work
        after = send(own_redis.url, "tests.faults.work_idempotent")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="the next run")
    finally:
        worker.stop()
