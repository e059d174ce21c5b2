"""A revoked queued run never runs, even when the worker holding it restarts."""

import pytest
from kombu import Exchange, Queue

from config.celery import app
from taskcenter.models import Run
from tests.conftest import start_worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

#: A queue only this test's worker consumes, so the session worker can not take the run.
QUEUE = "revoke_restart_test"
#: Long enough to revoke and restart the worker before the run is due.
COUNTDOWN = 8


def test_revoked_queued_run_never_runs_across_a_worker_restart(
    http, trigger_token, settings, tmp_path
):
    settings.CELERY_TASK_QUEUES = [
        *settings.CELERY_TASK_QUEUES,
        Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE),
    ]
    state = tmp_path / "revokes.state"
    worker, node = start_worker(
        tmp_path, queues=QUEUE, concurrency=1, extra=["--statedb", str(state)]
    )
    try:
        # Given a run the worker holds, due in a few seconds
        answer = http.post(
            "/api/jobs/jobs.demo.add/runs",
            {"kwargs": {"x": 1, "y": 1}, "queue": QUEUE, "countdown": COUNTDOWN},
            token=trigger_token,
        )
        assert answer.status == 202, answer.body
        run_id = answer.body["id"]

        def held():
            scheduled = app.control.inspect([node], timeout=1).scheduled() or {}
            return any(e["request"]["id"] == run_id for e in scheduled.get(node, []))

        wait_for(held, timeout=COUNTDOWN - 2, what="the worker to hold the run")

        # When it is revoked, and the worker restarts before the run is due
        revoke = http.post(f"/api/runs/{run_id}/revoke", token=trigger_token)
        assert revoke.body["outcome"] == "revoked"
        assert worker.stop() == 0
    finally:
        worker.stop()
    worker, node = start_worker(
        tmp_path, queues=QUEUE, concurrency=1, extra=["--statedb", str(state)]
    )
    try:
        # Then the restarted worker discards it when it is delivered again: it never runs
        wait_for(
            lambda: f"Discarding revoked task: jobs.demo.add[{run_id}]" in worker.output(),
            timeout=COUNTDOWN + 20,
            what="the restarted worker to discard the run",
        )
        answer = http.get(f"/api/runs/{run_id}", token=trigger_token)
        assert answer.body["state"] == "REVOKED"
        assert "succeeded" not in worker.output()
        assert Run.objects.get(id=run_id).attempts == 0
    finally:
        worker.stop()
