"""Fault 4 on RabbitMQ: the broker node killed and started again while runs are queued.

On a private node (`own_rabbit`; the machine's node is never stopped), SIGKILLed with no
clean shutdown: the quorum queue and the messages it confirmed are on disk, so every run
queued before the crash completes after the restart with no manual step, and the worker
reconnects by itself. A trigger while the node is down answers 503 with `Retry-After` and
leaves no run behind.

After a clean stop and start, the web server and the worker reconnect by themselves and
a trigger is published again. After a SIGKILL, RabbitMQ 3.10.8 (this machine's) brings the
queue's Raft member back without a leader ("leader not known" in its log): it still
delivers what it held, but confirms no new publish, on any connection, even after a later
clean restart, so a trigger then waits for its confirm. That is the broker's recovery, not
the task center's; README says so.
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


def test_after_a_clean_rabbitmq_restart_the_web_server_and_the_worker_reconnect(
    own_rabbit, tmp_path, make_user, token_for
):
    token = token_for(make_user(jobs=("jobs.demo.add",)))
    trigger = ("/api/jobs/jobs.demo.add/runs", {"kwargs": {"x": 1, "y": 2}})
    worker = start_fault_worker(tmp_path, own_rabbit.url, concurrency=1)
    web, http = _start_web(tmp_path, BROKER_URL=own_rabbit.url)
    try:
        # Given a web server whose pooled connection has published once
        assert http.post(*trigger, token=token).status == 202

        # When the node is stopped cleanly, refused while down, and started again
        own_rabbit.stop()
        assert http.post(*trigger, token=token).status == 503
        own_rabbit.start()

        # Then the web server publishes again on its own, and the worker runs what is sent
        assert wait_for(
            lambda: http.post(*trigger, token=token).status == 202,
            timeout=30,
            interval=1,
            what="the web server to publish again",
        )
        after = send(own_rabbit.url, "tests.faults.work_once")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="a run sent after")
        assert worker.popen.poll() is None
    finally:
        web.stop()
        worker.stop()
