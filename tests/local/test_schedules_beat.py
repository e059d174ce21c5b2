"""With stock beat, a real worker and the real local scheduler: pause stops dispatch, and a
pause with an end time resumes by itself."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_celery_results.models import TaskResult

from taskcenter.local.scheduler import LocalScheduler
from taskcenter.models import ScheduleChange
from taskcenter.services.schedules import schedule_create, schedule_pause
from tests.conftest import Proc, child_env, start_beat, wait_for

NAME = "every second"
SENT = f"beat: sent {NAME} for slot"


def test_resume_job_is_scheduled_by_the_local_scheduler():
    scheduler = LocalScheduler()

    scheduler.load_catalog(["jobs.schedules.resume_paused"])

    job = scheduler.get_job("jobs.schedules.resume_paused")
    assert job.trigger.interval == timedelta(seconds=15)


@pytest.mark.services
@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_paused_schedule_is_not_dispatched_and_resumes_after_its_pause(celery_worker, tmp_path):
    # Given a one-second schedule that beat dispatches and the worker runs
    user = User.objects.create_user("ops")
    task = schedule_create(
        user=user,
        data={
            "name": NAME,
            "job": "jobs.reports.build_report",
            "kwargs": {"since_hours": 1},
            "interval": {"every": 1, "period": "seconds"},
        },
    )
    beat = start_beat(tmp_path)
    resumer = Proc(
        [sys.executable, "manage.py", "run_apscheduler", "--job", "jobs.schedules.resume_paused"],
        tmp_path / "apscheduler.log",
        child_env(),
    )
    try:
        wait_for(
            lambda: (
                TaskResult.objects.filter(periodic_task_name=NAME, status="SUCCESS").count() >= 2
            ),
            timeout=60,
            what="two dispatched runs",
        )
        reloads = beat.output().count("schedule change(s)")

        # When it is paused for a few seconds
        until = timezone.now() + timedelta(seconds=5)
        schedule_pause(user=user, task=task, until=until)
        wait_for(
            lambda: beat.output().count("schedule change(s)") > reloads,
            timeout=20,
            what="beat to reload the schedule",
        )
        sent_while_paused = beat.output().count(SENT)

        # Then beat sends nothing while the pause lasts (observed over the whole pause)
        while timezone.now() < until:
            assert beat.output().count(SENT) == sent_while_paused
            time.sleep(0.2)

        # And the local scheduler resumes it by itself, as the system, after the pause
        def resumed() -> ScheduleChange | None:
            sent = beat.output().count(SENT)  # read before the resume is looked for, so a
            change = ScheduleChange.objects.filter(periodic_task=task, action="resume").first()
            if change is None:  # send counted here happened while still paused
                assert sent == sent_while_paused
            return change

        resume = wait_for(resumed, timeout=40, what="the pause to end by itself")
        assert resume.user is None
        assert resume.created_at >= until
        resumed_at = resume.created_at
        wait_for(
            lambda: TaskResult.objects.filter(
                periodic_task_name=NAME, status="SUCCESS", date_created__gt=resumed_at
            ).exists(),
            timeout=30,
            what="a run after the resume",
        )
    finally:
        beat.stop()
        resumer.stop()
