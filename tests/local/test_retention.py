"""Old local job runs are deleted in bounded batches; recent ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.maintenance import purge_local_runs
from taskcenter.models import LocalJobRun
from taskcenter.services.local_jobs import local_job_runs_purge

pytestmark = pytest.mark.django_db


def add_runs(count: int, *, age: timedelta, job: str) -> None:
    LocalJobRun.objects.bulk_create(LocalJobRun(job=job, outcome="success") for _ in range(count))
    LocalJobRun.objects.filter(job=job).update(created_at=timezone.now() - age)


@pytest.mark.services
def test_purge_deletes_old_runs_in_batches_and_keeps_recent_ones():
    add_runs(2500, age=timedelta(days=40), job="aged")
    add_runs(10, age=timedelta(days=29), job="fresh")

    with CaptureQueriesContext(connection) as captured:
        deleted = local_job_runs_purge(older_than=timedelta(days=30), batch=1000)

    assert deleted == 2500
    assert set(LocalJobRun.objects.values_list("job", flat=True)) == {"fresh"}
    deletes = [q["sql"] for q in captured if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3


def test_nightly_job_uses_the_retention_setting(settings):
    settings.LOCAL_RUNS_RETENTION_DAYS = 5
    add_runs(3, age=timedelta(days=6), job="old")
    add_runs(2, age=timedelta(days=4), job="new")

    assert purge_local_runs() == 3
    assert LocalJobRun.objects.count() == 2
