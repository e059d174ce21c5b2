"""A real worker writes its durable heartbeat: queues, concurrency, jobs running, stop."""

from __future__ import annotations

import pytest

from taskcenter import dispatch
from taskcenter.models import ProcessHeartbeat, QueueSample
from taskcenter.monitoring.processes import processes_list, processes_online_count
from tests.conftest import child_env, start_worker, wait_for
from tests.monitoring.conftest import TEST_QUEUE

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_heartbeat_row_reports_queues_concurrency_running_jobs_and_stop(tmp_path):
    from config.celery import app

    app.control.purge()
    proc, node = start_worker(
        tmp_path,
        # A queue of its own: a session-wide worker of another module also consumes
        # `default`, and would take the run this worker must be seen running.
        queues=f"{TEST_QUEUE},reports",
        concurrency=2,
        env=child_env(TASKCENTER_HEARTBEAT_INTERVAL="0.3"),
    )
    try:
        row = wait_for(
            lambda: ProcessHeartbeat.objects.filter(ident=f"worker:{node}").first(),
            timeout=30,
            what="the worker's heartbeat row",
        )
        assert row.role == "worker"
        assert row.details["queues"] == sorted([TEST_QUEUE, "reports"])
        assert row.details["concurrency"] == 2
        assert processes_online_count(role="worker") >= 1
        # The same timer samples every queue's depth for the operations page's chart.
        wait_for(
            lambda: QueueSample.objects.filter(queue="default").exists(),
            timeout=30,
            what="a queue depth sample",
        )

        # Long enough to be seen running between two beats however slowly a loaded machine
        # starts it; the deadlines fit a loaded 2-core CI machine, not a quiet one.
        run = dispatch.submit("jobs.demo.slow", kwargs={"seconds": 8, "steps": 2}, queue=TEST_QUEUE)
        busy = wait_for(
            lambda: ProcessHeartbeat.objects.filter(
                ident=f"worker:{node}", details__jobs_running=1
            ).first(),
            timeout=90,
            what="the heartbeat to show the running job",
        )
        assert busy.details["running"] == ["jobs.demo.slow"]
        wait_for(lambda: dispatch.status(run.id) == "SUCCESS", timeout=90, what="the slow run")
    finally:
        proc.stop()

    last = ProcessHeartbeat.objects.get(ident=f"worker:{node}")
    assert last.details["stopped"] is True
    (view,) = [p for p in processes_list(role="worker") if p.ident == f"worker:{node}"]
    assert view.online is False
