"""Triggering `@aio_job` runs through the API of a process that runs (or lacks) a manager."""

from collections.abc import Iterator

import pytest

from taskcenter.aio import runtime
from taskcenter.models import Run
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TRIGGER = "/api/jobs/jobs.demo.pause/runs"


@pytest.fixture
def aio_token(make_user, token_for) -> str:
    return token_for(make_user(jobs=("jobs.demo.pause",)))


@pytest.fixture
def small_runtime(settings) -> Iterator[None]:
    """This process's AnyIO runtime (as gunicorn's post_worker_init starts it), room for one."""
    settings.AIO_MANAGER = {**settings.AIO_MANAGER, "max_queue": 1}
    settings.AIO_DRAIN_TIMEOUT = 0
    runtime.runtime_start()
    yield
    runtime.runtime_stop()


def _state(http, token, run_id, *states):
    answer = http.get(f"/api/runs/{run_id}", token=token)
    assert answer.status == 200, answer.raw[:300]
    return answer.body if answer.body["state"] in states else None


def test_aio_trigger_without_a_runtime_is_503_and_records_nothing(http, aio_token):
    answer = http.post(TRIGGER, {"kwargs": {"seconds": 0}}, token=aio_token)

    assert answer.status == 503
    assert answer.headers["retry-after"] == "5"
    assert "AnyIO" in answer.body["detail"]
    assert not Run.objects.exists()


def test_aio_trigger_needs_the_jobs_permission(http, make_user, token_for):
    token = token_for(make_user(jobs=("jobs.demo.add",)))

    answer = http.post(TRIGGER, {"kwargs": {"seconds": 0}}, token=token)

    assert answer.status == 403
    assert not Run.objects.exists()


def test_aio_trigger_refuses_celery_options_and_bad_arguments(http, aio_token):
    with_queue = http.post(TRIGGER, {"kwargs": {"seconds": 0}, "queue": "default"}, token=aio_token)
    too_long = http.post(TRIGGER, {"kwargs": {"seconds": 3600}}, token=aio_token)

    assert with_queue.status == 422
    assert with_queue.body["errors"] == {"queue": "applies to Celery jobs only"}
    assert too_long.status == 422
    assert "seconds" in too_long.body["errors"]
    assert not Run.objects.exists()


def test_full_manager_answers_503_with_retry_after_and_a_revoke_cancels_here(
    http, aio_token, small_runtime
):
    # Given a manager with room for one run, running one
    first = http.post(TRIGGER, {"kwargs": {"seconds": 30}}, token=aio_token)
    assert first.status == 202, first.raw[:300]
    wait_for(lambda: _state(http, aio_token, first.body["id"], "STARTED"), what="STARTED")

    # When another is triggered, it is refused at once and not recorded
    second = http.post(TRIGGER, {"kwargs": {"seconds": 0}}, token=aio_token)
    assert second.status == 503
    assert second.headers["retry-after"] == "1"
    assert list(Run.objects.values_list("id", flat=True)) == [first.body["id"]]

    # And revoking the running one in its own process cancels it at once
    revoke = http.post(f"/api/runs/{first.body['id']}/revoke", token=aio_token)
    assert revoke.body == {"id": first.body["id"], "outcome": "revoked"}
    revoked = wait_for(lambda: _state(http, aio_token, first.body["id"], "REVOKED"), timeout=10)
    assert revoked["error"] == {"type": "TaskRevokedError", "message": "revoked"}
    assert Run.objects.get(id=first.body["id"]).revoke_requested_at is not None

    # And there is room again
    third = http.post(TRIGGER, {"kwargs": {"seconds": 0}}, token=aio_token)
    assert third.status == 202
    done = wait_for(lambda: _state(http, aio_token, third.body["id"], "SUCCESS"), what="SUCCESS")
    assert done["result"] == 0


def test_job_list_offers_aio_jobs_for_triggering(http, aio_token):
    jobs = {job["name"]: job for job in http.get("/api/jobs", token=aio_token).body}

    assert jobs["jobs.demo.pause"]["runtime"] == "aio"
    assert jobs["jobs.demo.pause"]["can_trigger"] is True
    assert jobs["jobs.demo.pause"]["trigger_url"] == TRIGGER
    assert jobs["jobs.demo.add"]["can_trigger"] is False


def test_aio_trigger_with_an_idempotency_key_returns_the_same_run(http, aio_token, small_runtime):
    key = {"Idempotency-Key": "aio-once"}

    first = http.post(TRIGGER, {"kwargs": {"seconds": 0}}, token=aio_token, headers=key)
    again = http.post(TRIGGER, {"kwargs": {"seconds": 0}}, token=aio_token, headers=key)

    assert first.status == again.status == 202
    assert again.body["id"] == first.body["id"]
    assert again.body["replayed"] is True
    assert Run.objects.count() == 1
