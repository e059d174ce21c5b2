"""The admin shows what beat is doing: the leader, missed runs, and picked-up changes."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from taskcenter.models import BeatInstance, ScheduleChangeFeed, ScheduleEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def schedule() -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name="nightly report", task="jobs.reports.build_report", interval=every
    )


def test_admin_index_shows_the_leading_beat_and_recent_missed_runs(admin_client, schedule):
    now = timezone.now()
    BeatInstance.objects.create(
        ident="host-a:41:tok",
        hostname="host-a",
        pid=41,
        is_leader=True,
        leader_since=now,
        started_at=now,
        last_tick_at=now,
    )
    ScheduleEvent.objects.create(
        periodic_task=schedule,
        kind=ScheduleEvent.Kind.MISSED,
        slot=now - timedelta(minutes=5),
        outcome=ScheduleEvent.Outcome.RAN_ONCE,
        reason="broker unreachable",
    )

    page = admin_client.get("/admin/").content.decode()

    assert "host-a:41:tok" in page
    assert "nightly report" in page
    assert "caught up with one run" in page


def test_admin_index_says_when_no_beat_leads(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert "no beat is leading" in page


def test_schedule_page_says_whether_beat_picked_up_the_change(admin_client, schedule):
    url = f"/admin/django_celery_beat/periodictask/{schedule.pk}/change/"
    feed = ScheduleChangeFeed.objects.filter(
        source=ScheduleChangeFeed.Source.TASK, row_id=schedule.pk
    )
    assert feed.exists()  # written by the database trigger on insert, not by Python

    waiting = admin_client.get(url).content.decode()
    feed.update(applied_at=timezone.now())
    applied = admin_client.get(url).content.decode()

    assert "Waiting for beat to pick up the change" in waiting
    assert "Beat picked up the last change" in applied


def test_schedule_page_lists_its_skipped_runs(admin_client, schedule):
    ScheduleEvent.objects.create(
        periodic_task=schedule, kind=ScheduleEvent.Kind.SKIPPED_OVERLAP, slot=timezone.now()
    )

    page = admin_client.get(
        f"/admin/django_celery_beat/periodictask/{schedule.pk}/change/"
    ).content.decode()

    assert "skipped: previous run still running" in page
