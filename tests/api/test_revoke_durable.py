"""A run revoked while no worker holds it is discarded by a worker started afterwards."""

import pytest
from kombu import Exchange, Queue

from taskcenter.models import Run
from tests.conftest import start_worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

#: A queue no other worker consumes, so the run waits there until this test's worker starts.
QUEUE = "revoke_durable_test"


def test_a_worker_started_after_the_revoke_discards_the_run(
    http, trigger_token, settings, tmp_path
):
    settings.CELERY_TASK_QUEUES = [
        *settings.CELERY_TASK_QUEUES,
        Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE),
    ]
    # Given a queued run that no worker has seen, revoked through the API
    answer = http.post(
        "/api/jobs/jobs.demo.add/runs",
        {"kwargs": {"x": 1, "y": 1}, "queue": QUEUE},
        token=trigger_token,
    )
    assert answer.status == 202, answer.body
    run_id = answer.body["id"]
    assert http.post(f"/api/runs/{run_id}/revoke", token=trigger_token).body["outcome"] == (
        "revoked"
    )

    # When a worker that never received the revoke broadcast (a fresh state file) starts
    worker, _ = start_worker(
        tmp_path, queues=QUEUE, concurrency=1, extra=["--statedb", str(tmp_path / "new.state")]
    )
    try:
        # Then it discards the run instead of running it
        wait_for(
            lambda: f"Discarding revoked task: jobs.demo.add[{run_id}]" in worker.output(),
            timeout=60,
            what="the new worker to discard the run",
        )
        assert http.get(f"/api/runs/{run_id}", token=trigger_token).body["state"] == "REVOKED"
        assert "succeeded" not in worker.output()
        assert Run.objects.get(id=run_id).attempts == 0
    finally:
        worker.stop()
