"""Each Celery job's delivery promise is shown; a countdown the broker can not hold is refused."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from taskcenter.catalog import get_job
from taskcenter.models import Run

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_jobs_list_shows_which_jobs_are_at_least_once(http, trigger_token):
    answer = http.get("/api/jobs", token=trigger_token)
    assert answer.status == 200
    jobs = {job["name"]: job for job in answer.body}

    assert jobs["jobs.demo.add"]["idempotent"] is True
    assert jobs["jobs.demo.add"]["delivery"] == "at-least-once"
    assert jobs["jobs.demo.call_downstream"]["idempotent"] is False
    assert jobs["jobs.demo.call_downstream"]["delivery"] == "at-most-once"
    local = next(job for job in answer.body if job["runtime"] == "local")
    assert local["delivery"] is None


def test_idempotent_flag_sets_late_ack_and_redelivery_per_job():
    at_least_once = get_job("jobs.demo.add").task
    at_most_once = get_job("jobs.demo.call_downstream").task

    assert (at_least_once.acks_late, at_least_once.reject_on_worker_lost) == (True, True)
    assert (at_most_once.acks_late, at_most_once.reject_on_worker_lost) == (False, False)


def test_countdown_or_eta_beyond_the_broker_hold_is_422_and_starts_nothing(http, trigger_token):
    limit = settings.TASKCENTER_MAX_COUNTDOWN
    assert limit < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    too_late = (timezone.now() + timedelta(seconds=limit + 60)).isoformat()
    for options in ({"countdown": limit + 1}, {"eta": too_late}):
        answer = http.post(
            "/api/jobs/jobs.demo.add/runs",
            {"kwargs": {"x": 1, "y": 2}, **options},
            token=trigger_token,
        )
        assert answer.status == 422, answer.body
        [(field, message)] = answer.body["errors"].items()
        assert field in options
        assert f"{limit} seconds" in message
        assert "one-off schedule" in message
    assert not Run.objects.exists()


def test_admin_job_choices_name_the_delivery_promise():
    from taskcenter.admin.forms import _job_choices

    labels = dict(_job_choices())
    assert "[at-least-once (idempotent)]" in labels["jobs.demo.add"]
    assert "[at-most-once]" in labels["jobs.demo.call_downstream"]
