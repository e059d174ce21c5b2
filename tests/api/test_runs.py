"""Triggering runs and watching them through the API, against a real worker."""

import pytest

from taskcenter.models import Run
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _state(http, token, run_id, *states):
    answer = http.get(f"/api/runs/{run_id}", token=token)
    assert answer.status == 200
    return answer.body if answer.body["state"] in states else None


def test_triggered_run_succeeds_and_its_status_shows_result_worker_and_attempts(
    http, trigger_token, celery_worker
):
    answer = http.post(
        "/api/jobs/jobs.demo.add/runs", {"args": [2], "kwargs": {"y": 40}}, token=trigger_token
    )

    assert answer.status == 202
    assert answer.body["status_url"] == f"/api/runs/{answer.body['id']}"
    done = wait_for(
        lambda: _state(http, trigger_token, answer.body["id"], "SUCCESS"),
        timeout=30,
        what="SUCCESS",
    )
    assert done["result"] == 42
    assert done["worker"] == celery_worker
    assert done["attempts"] == 1
    assert done["started_at"]
    assert done["finished_at"]
    assert done["created_at"]
    assert done["error"] is None


def test_idempotency_key_returns_the_same_run(http, trigger_token):
    body = {"kwargs": {"x": 1, "y": 2}}
    headers = {"Idempotency-Key": "order-17"}

    first = http.post("/api/jobs/jobs.demo.add/runs", body, token=trigger_token, headers=headers)
    again = http.post("/api/jobs/jobs.demo.add/runs", body, token=trigger_token, headers=headers)
    other = http.post(
        "/api/jobs/jobs.demo.add/runs",
        {"kwargs": {"x": 9, "y": 9}},
        token=trigger_token,
        headers=headers,
    )

    assert first.status == again.status == 202
    assert again.body["id"] == first.body["id"]
    assert (first.body["replayed"], again.body["replayed"]) == (False, True)
    assert other.status == 422
    assert Run.objects.count() == 1


def test_progress_is_visible_while_the_job_runs(http, trigger_token, celery_worker):
    answer = http.post(
        "/api/jobs/jobs.demo.slow/runs", {"kwargs": {"seconds": 3, "steps": 6}}, token=trigger_token
    )
    run_id = answer.body["id"]

    seen = wait_for(
        lambda: _state(http, trigger_token, run_id, "PROGRESS"),
        timeout=30,
        interval=0.05,
        what="PROGRESS",
    )

    assert 0 < seen["percent"] < 100
    done = wait_for(lambda: _state(http, trigger_token, run_id, "SUCCESS"), timeout=30)
    assert done["percent"] == 100


def test_revoking_a_running_run_says_revoke_requested_and_terminate_stops_it(
    http, trigger_token, celery_worker
):
    answer = http.post(
        "/api/jobs/jobs.demo.slow/runs",
        {"kwargs": {"seconds": 20, "steps": 40}},
        token=trigger_token,
    )
    run_id = answer.body["id"]
    wait_for(lambda: _state(http, trigger_token, run_id, "STARTED", "PROGRESS"), timeout=30)

    soft = http.post(f"/api/runs/{run_id}/revoke", token=trigger_token)
    hard = http.post(f"/api/runs/{run_id}/revoke?terminate=true", token=trigger_token)

    assert soft.status == 200
    assert soft.body["outcome"] == "revoke requested"
    assert hard.body["outcome"] == "terminate requested"
    stopped = wait_for(lambda: _state(http, trigger_token, run_id, "REVOKED"), timeout=20)
    assert stopped["revoke_requested"] is True
    assert http.post(f"/api/runs/{run_id}/revoke", token=trigger_token).body["outcome"] == (
        "already finished"
    )


def test_concurrent_requests_with_one_idempotency_key_start_one_run(http, trigger_token):
    from concurrent.futures import ThreadPoolExecutor

    from tests.api.conftest import HttpClient

    def send(_):
        client = HttpClient(f"http://{http.host}:{http.port}")
        return client.post(
            "/api/jobs/jobs.demo.add/runs",
            {"kwargs": {"x": 3, "y": 4}},
            token=trigger_token,
            headers={"Idempotency-Key": "race-1"},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, range(8)))

    assert {a.status for a in answers} == {202}
    assert len({a.body["id"] for a in answers}) == 1
    assert Run.objects.filter(idempotency_key="race-1").count() == 1
