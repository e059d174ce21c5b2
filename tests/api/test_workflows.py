"""Workflows: chains, groups and chords of catalog jobs, validated as a whole."""

import pytest

from taskcenter.models import Run, Workflow
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def _result(http, token, run_id):
    body = http.get(f"/api/runs/{run_id}", token=token).body
    assert body["state"] not in ("FAILURE", "REVOKED"), body
    return body if body["state"] == "SUCCESS" else None


@pytest.mark.services
@pytest.mark.worker
def test_chord_callback_receives_the_header_results(http, trigger_token, celery_worker):
    answer = http.post(
        "/api/workflows",
        {
            "kind": "chord",
            "steps": [{"job": "jobs.demo.add", "kwargs": {"x": i, "y": 1}} for i in range(3)],
            "callback": {"job": "jobs.demo.total", "receives_previous": True},
        },
        token=trigger_token,
    )

    assert answer.status == 202, answer.body
    runs = answer.body["runs"]
    assert [r["role"] for r in runs] == ["step", "step", "step", "callback"]
    done = wait_for(lambda: _result(http, trigger_token, runs[-1]["run_id"]), timeout=40)
    assert done["result"] == 1 + 2 + 3
    assert done["workflow_id"] == answer.body["id"]


@pytest.mark.services
@pytest.mark.worker
def test_chain_passes_each_result_to_the_next_step(http, trigger_token, celery_worker):
    answer = http.post(
        "/api/workflows",
        {
            "kind": "chain",
            "steps": [
                {"job": "jobs.demo.add", "kwargs": {"x": 1, "y": 2}},
                {"job": "jobs.demo.add", "kwargs": {"y": 10}, "receives_previous": True},
                {"job": "jobs.demo.add", "kwargs": {"x": 5, "y": 5}},
            ],
        },
        token=trigger_token,
    )

    assert answer.status == 202, answer.body
    second, third = answer.body["runs"][1:]
    assert (
        wait_for(lambda: _result(http, trigger_token, second["run_id"]), timeout=40)["result"] == 13
    )
    assert (
        wait_for(lambda: _result(http, trigger_token, third["run_id"]), timeout=40)["result"] == 10
    )


@pytest.mark.services
@pytest.mark.worker
def test_group_runs_every_step(http, trigger_token, celery_worker):
    answer = http.post(
        "/api/workflows",
        {
            "kind": "group",
            "steps": [{"job": "jobs.demo.add", "args": [i, i]} for i in range(4)],
        },
        token=trigger_token,
    )

    assert answer.status == 202
    results = [
        wait_for(lambda r=r: _result(http, trigger_token, r["run_id"]), timeout=40)["result"]
        for r in answer.body["runs"]
    ]
    assert results == [0, 2, 4, 6]


def test_one_invalid_step_rejects_the_whole_workflow_before_anything_is_sent(http, trigger_token):
    answer = http.post(
        "/api/workflows",
        {
            "kind": "chain",
            "steps": [
                {"job": "jobs.demo.add", "kwargs": {"x": 1, "y": 2}},
                {"job": "jobs.demo.add", "kwargs": {"x": "bad", "y": 2}},
            ],
        },
        token=trigger_token,
    )

    assert answer.status == 422
    assert answer.body["errors"] == {"steps.1.x": "Input should be a valid integer"}
    assert not Run.objects.exists()
    assert not Workflow.objects.exists()


def test_workflow_with_a_job_outside_the_catalog_or_not_permitted_is_refused(
    http, make_user, token_for
):
    token = token_for(make_user(jobs=("jobs.demo.add",)))
    steps = [{"job": "jobs.demo.add", "args": [1, 2]}]

    unknown = http.post(
        "/api/workflows", {"kind": "group", "steps": [*steps, {"job": "celery.ping"}]}, token=token
    )
    forbidden = http.post(
        "/api/workflows",
        {"kind": "group", "steps": [*steps, {"job": "jobs.demo.slow"}]},
        token=token,
    )
    no_callback = http.post("/api/workflows", {"kind": "chord", "steps": steps}, token=token)

    assert (unknown.status, forbidden.status, no_callback.status) == (404, 403, 422)
    assert not Run.objects.exists()
