"""Fault 1 on RabbitMQ: a worker's pool child SIGKILLed mid-job (a private vhost).

An idempotent job is acknowledged after it runs, so the killed child's message goes back
to the quorum queue and runs again to SUCCESS once; an at-most-once job was acknowledged
as it started, so it is marked failed with the reason and dead-lettered, never run again.
"""

import pytest

from taskcenter.models import DeadLetter
from tests.conftest import wait_for
from tests.faults.conftest import SuiteRedis, count, result_row, send, start_fault_worker
from tests.faults.test_child_killed import _kill_child_once_started

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_killed_child_on_rabbitmq_reruns_an_idempotent_job_and_fails_an_at_most_once_one(
    rabbit_vhost, tmp_path
):
    counts = SuiteRedis()
    url = rabbit_vhost.url
    worker = start_fault_worker(tmp_path, url, concurrency=1)
    try:
        # Given an idempotent run whose pool child is killed mid-job
        again = send(url, "tests.faults.work_idempotent", seconds=3)
        _kill_child_once_started(counts, again)

        # Then it is delivered again, runs to the end once and ends SUCCESS
        row = wait_for(
            lambda: result_row(again, "SUCCESS", "FAILURE"), timeout=60, what="its result"
        )
        assert row.status == "SUCCESS", row.result
        assert count(counts, "started", again) == 2
        assert count(counts, "done", again) == 1
        assert not DeadLetter.objects.filter(task_id=again).exists()

        # Given an at-most-once run whose pool child is killed mid-job
        once = send(url, "tests.faults.work_once", seconds=3)
        _kill_child_once_started(counts, once)

        # Then it is marked failed with the reason and dead-lettered, and never runs again
        row = wait_for(lambda: result_row(once, "FAILURE"), timeout=60, what="its failure")
        assert "WorkerLostError" in row.result
        letter = wait_for(
            lambda: DeadLetter.objects.filter(task_id=once).first(), what="its dead letter"
        )
        assert letter.exception_type == "WorkerLostError"
        assert "SIGKILL" in letter.message or "signal 9" in letter.message

        # And the worker carries on: the next run succeeds, the failed one never ran again
        after = send(url, "tests.faults.work_once")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="the next run")
        assert count(counts, "started", once) == 1
    finally:
        worker.stop()
