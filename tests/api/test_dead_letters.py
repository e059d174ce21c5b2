"""Retries with backoff, then the dead-letter store, then requeue: with a real worker."""

import pytest

from jobs.logic.demo import outage_set
from taskcenter.models import DeadLetter
from taskcenter.services.scrub import scrub
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def _run(http, token, run_id):
    return http.get(f"/api/runs/{run_id}", token=token).body


@pytest.mark.services
@pytest.mark.worker
def test_failing_job_retries_then_is_dead_lettered_then_requeued_runs(
    http, make_user, token_for, celery_worker
):
    # Given a downstream that is down, and a user who may trigger and repair
    user = make_user(
        jobs=("jobs.demo.call_downstream",),
        perms=("taskcenter.view_deadletter", "taskcenter.change_deadletter"),
    )
    token = token_for(user)
    outage_set(name="billing", down=True)
    try:
        run_id = http.post(
            "/api/jobs/jobs.demo.call_downstream/runs", {"kwargs": {"name": "billing"}}, token=token
        ).body["id"]

        # When it runs, it retries (RETRY is visible with the attempt number)...
        retry = wait_for(
            lambda: (b := _run(http, token, run_id))["state"] == "RETRY" and b,
            timeout=30,
            interval=0.05,
            what="RETRY",
        )
        assert retry["attempts"] >= 1
        assert retry["error"]["type"] == "DownstreamUnavailableError"
        # ...and after its last attempt fails it lands in the dead-letter store
        failed = wait_for(
            lambda: (b := _run(http, token, run_id))["state"] == "FAILURE" and b,
            timeout=30,
            what="FAILURE",
        )
        assert failed["attempts"] == 3
        letters = wait_for(
            lambda: http.get("/api/dead-letters?status=open", token=token).body["items"],
            timeout=10,
            what="a dead letter",
        )
    finally:
        outage_set(name="billing", down=False)

    letter = letters[0]
    assert letter["task_id"] == run_id
    assert letter["job"] == "jobs.demo.call_downstream"
    assert letter["kwargs"] == {"name": "billing"}
    assert letter["exception_type"] == "DownstreamUnavailableError"
    assert letter["attempts"] == 3
    assert letter["first_failed_at"] < letter["last_failed_at"]

    # Then, the downstream being back, a requeue runs the job again and succeeds
    requeued = http.post(f"/api/dead-letters/{letter['id']}/requeue", token=token)
    assert requeued.status == 200, requeued.body
    new_run = requeued.body[0]["run_id"]
    done = wait_for(
        lambda: (b := _run(http, token, new_run))["state"] == "SUCCESS" and b, timeout=30
    )
    assert done["result"] == "billing: ok"
    assert DeadLetter.objects.get(pk=letter["id"]).status == "requeued"
    assert http.post(f"/api/dead-letters/{letter['id']}/requeue", token=token).body == []


def _letter(n):
    from django.utils import timezone

    now = timezone.now()
    return DeadLetter.objects.create(
        task_id=f"00000000-0000-4000-8000-{n:012d}",
        job="jobs.demo.add",
        kwargs={"x": n, "y": 0},
        exception_type="ValueError",
        message="boom",
        first_failed_at=now,
        last_failed_at=now,
    )


def test_discard_selection_marks_only_open_letters(http, make_user, token_for):
    token = token_for(
        make_user(perms=("taskcenter.view_deadletter", "taskcenter.delete_deadletter"))
    )
    a, b, c = _letter(1), _letter(2), _letter(3)

    answer = http.post("/api/dead-letters/discard", {"ids": [a.pk, b.pk]}, token=token)

    assert answer.body == {"discarded": 2}
    assert http.post("/api/dead-letters/discard", {"ids": [a.pk]}, token=token).body == {
        "discarded": 0
    }
    open_ids = [
        x["id"] for x in http.get("/api/dead-letters?status=open", token=token).body["items"]
    ]
    assert open_ids == [c.pk]


def test_dead_letters_need_their_permissions(http, make_user, token_for):
    token = token_for(make_user(jobs=("jobs.demo.add",)))
    letter = _letter(4)

    assert http.get("/api/dead-letters", token=token).status == 403
    assert http.post("/api/dead-letters/requeue", {"ids": [letter.pk]}, token=token).status == 403
    assert http.post(f"/api/dead-letters/{letter.pk}/discard", token=token).status == 403
    assert http.get("/api/dead-letters/999999", token=token).status == 403


@pytest.mark.services
def test_requeue_of_a_selection_starts_one_run_per_open_letter(http, make_user, token_for):
    token = token_for(make_user(jobs=("jobs.demo.add",), perms=("taskcenter.change_deadletter",)))
    a, b = _letter(5), _letter(6)

    answer = http.post("/api/dead-letters/requeue", {"ids": [a.pk, b.pk, 424242]}, token=token)

    assert answer.status == 200
    assert sorted(x["dead_letter_id"] for x in answer.body) == [a.pk, b.pk]
    for item in answer.body:
        assert http.get(item["status_url"], token=token).status == 200


def test_scrub_masks_credentials_and_cuts_long_messages():
    text = "connect redis://user:hunter2@db:6379 failed password=hunter2 Bearer tc_abcdefghijklmnop"

    cleaned = scrub(text)

    assert "hunter2" not in cleaned
    assert "tc_abcdefghijkl" not in cleaned
    assert "redis://***@db:6379" in cleaned
    assert len(scrub("x" * 10_000)) == 500
