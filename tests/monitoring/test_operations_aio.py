"""AnyIO runs on the operations page: real runs of an `@aio_job` in this process's runtime,
recorded as `Run` (runtime aio) and `TaskResult` rows, counted next to Celery and local
jobs and marked "aio"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django_celery_results.models import TaskResult

from taskcenter.aio import runtime
from taskcenter.models import LocalJobRun, Run
from taskcenter.services.runs import run_trigger
from tests.conftest import wait_for
from tests.monitoring.test_operations_page import job_row, make_results

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

AIO_JOB = "jobs.demo.pause"


@pytest.fixture
def aio_runtime(settings) -> Iterator[None]:
    """This process's AnyIO runtime, as a web server's startup hook runs it."""
    settings.AIO_DRAIN_TIMEOUT = 5
    runtime.runtime_start()
    yield
    runtime.runtime_stop()


def _row_html(body: str, job: str) -> str:
    match = re.search(rf'<tr class="job-row" data-job="{re.escape(job)}">(.*?)</tr>', body, re.S)
    assert match, f"no row for {job}"
    return match.group(1)


@pytest.mark.parametrize("window", ["1h", "24h"])
def test_aio_runs_are_counted_next_to_celery_and_local_jobs_and_marked_aio(
    admin_user, aio_runtime, window
):
    # Given three AnyIO runs that succeed and one that fails, run by the real runtime
    runs = [
        run_trigger(user=admin_user, job_name=AIO_JOB, kwargs={"seconds": 0.05, "fail": fail})[0]
        for fail in (False, False, False, True)
    ]
    ids = [r.id for r in runs]
    wait_for(
        lambda: (
            TaskResult.objects.filter(task_id__in=ids, status__in=("SUCCESS", "FAILURE")).count()
            == 4
        ),
        timeout=30,
        what="the AnyIO runs' final rows",
    )
    assert set(Run.objects.filter(id__in=ids).values_list("runtime", flat=True)) == {"aio"}
    # ... next to Celery and local runs
    make_results("jobs.demo.add", [1.0, 2.0], failed=1)
    LocalJobRun.objects.create(job="jobs.maintenance.cleanup", outcome="success", duration=0.2)

    client = Client()
    client.force_login(admin_user)
    response = client.get(f"/admin/operations/?window={window}")

    # Then each runtime's job is counted, the AnyIO one marked "aio"
    assert response.status_code == 200
    aio = job_row(response, AIO_JOB)
    assert (aio.runtime, aio.runs, aio.failures) == ("aio", 4, 1)
    assert aio.success_rate == pytest.approx(0.75)
    assert aio.p50 is not None
    assert aio.last_failure_url.startswith("/admin/django_celery_results/taskresult/")
    celery = job_row(response, "jobs.demo.add")
    assert (celery.runtime, celery.runs, celery.failures) == ("celery", 2, 1)
    local = job_row(response, "jobs.maintenance.cleanup")
    assert (local.runtime, local.runs) == ("local", 1)
    html = _row_html(response.content.decode(), AIO_JOB)
    assert '<td class="runtime">aio</td>' in html
    assert '<td class="num runs">4</td>' in html
