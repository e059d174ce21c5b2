"""Fault 4 on RabbitMQ: the broker node killed and started again while runs are queued.

On a private node (`own_rabbit`; the machine's node is never stopped), SIGKILLed with no
clean shutdown: the quorum queue and the messages it confirmed are on disk, so every run
queued before the crash completes after the restart with no manual step, and the worker
reconnects by itself. A trigger while the node is down answers 503 with `Retry-After` and
leaves no run behind.

Not proven here: the web server publishing again after the restart. After a SIGKILL of
the single node, a publish on any connection (a fresh one too) gets no confirm for over a
minute, then a nack, although the queue reports running with its leader; a trigger
waits that long. A known open gap on RabbitMQ, not yet fixed.
"""

import time

import pytest

from taskcenter.models import Run
from tests.conftest import wait_for
from tests.faults.conftest import SuiteRedis, count, result_row, send, start_fault_worker
from tests.faults.test_broker_restart import RUNS, _start_web

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_runs_queued_before_a_rabbitmq_crash_complete_after_its_restart(
    own_rabbit, tmp_path, make_user, token_for
):
    counts = SuiteRedis()
    token = token_for(make_user(jobs=("jobs.demo.add",)))
    trigger = ("/api/jobs/jobs.demo.add/runs", {"kwargs": {"x": 1, "y": 2}})
    worker = start_fault_worker(tmp_path, own_rabbit.url, concurrency=1)
    web, http = _start_web(tmp_path, BROKER_URL=own_rabbit.url)
    try:
        assert http.post(*trigger, token=token).status == 202
        # Given idempotent runs queued behind one in progress
        queued = [
            send(own_rabbit.url, "tests.faults.work_idempotent", seconds=1) for _ in range(RUNS)
        ]
        wait_for(lambda: count(counts, "started", queued[0]) == 1, timeout=60, what="start")

        # When the node is SIGKILLed, stays down a while, then starts on the same data
        own_rabbit.kill()
        down = http.post(*trigger, token=token)
        assert down.status == 503, down.raw[:300]
        assert down.headers.get("retry-after")
        assert Run.objects.count() == 1  # the refused trigger left no run behind
        time.sleep(2)
        started = time.monotonic()
        own_rabbit.start()
        print(f"private RabbitMQ node restarted in {time.monotonic() - started:.1f}s")

        # Then every queued run completes, and the worker (still the same process) goes on
        for task_id in queued:
            row = wait_for(
                lambda t=task_id: result_row(t, "SUCCESS", "FAILURE"),
                timeout=90,
                what="a run queued before the crash",
            )
            assert row.status == "SUCCESS", row.result
        assert all(count(counts, "done", t) >= 1 for t in queued)
        assert worker.popen.poll() is None
        after = send(own_rabbit.url, "tests.faults.work_once")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="a run sent after")
    finally:
        web.stop()
        worker.stop()
