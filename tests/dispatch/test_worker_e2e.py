"""End to end: a real worker consumes from real Redis and stores its result in MySQL."""

import json
from pathlib import Path

import pytest
from django_celery_results.models import TaskResult

from taskcenter import dispatch
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_submitted_report_job_runs_on_the_worker_and_its_result_is_stored(celery_worker):
    run = dispatch.submit("jobs.reports.build_report", kwargs={"since_hours": 1})

    row = wait_for(
        lambda: TaskResult.objects.filter(task_id=run.id, status="SUCCESS").first(),
        timeout=30,
        what="the report result row",
    )

    result = json.loads(row.result)
    assert Path(result["path"]).is_file()
    assert row.task_name == "jobs.reports.build_report"
    assert row.worker == celery_worker
    assert "since_hours" in row.task_kwargs


def test_started_state_is_stored_before_the_job_finishes(celery_worker):
    run = dispatch.submit("jobs.reports.build_report", kwargs={"since_hours": 1, "fmt": "csv"})

    wait_for(lambda: dispatch.status(run.id) == "SUCCESS", timeout=30, what="SUCCESS")

    assert dispatch.result(run.id, timeout=5)["path"].endswith(".csv")
