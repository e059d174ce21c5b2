"""Real beat, real worker, private Redis: overlap skips and missed runs are recorded."""

import json

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from taskcenter.beat.status import missed_runs_recent, schedule_missed_runs
from taskcenter.models import ScheduleEvent, ScheduleSettings
from tests.beat.conftest import every
from tests.conftest import start_worker, wait_for
from tests.servers import RedisServer

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_overlap_skip_leaves_no_two_runs_of_a_schedule_running_at_once(outbox, beats, tmp_path):
    # given a worker and a 1 s schedule whose runs take 2.5 s, with overlap=skip
    worker, _ = start_worker(
        tmp_path, queues=outbox.queue, concurrency=2, extra=["-I", "tests.beat.tasks"]
    )
    try:
        interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
        task = PeriodicTask.objects.create(
            name="slow",
            task="tests.beat.sleep",
            interval=interval,
            queue=outbox.queue,
            kwargs=json.dumps({"seconds": 2.5}),
        )
        ScheduleSettings.objects.create(periodic_task=task, overlap="skip")

        # when beat runs it for a while
        beats.start_leader()
        wait_for(
            lambda: (
                TaskResult.objects.filter(periodic_task_name="slow", status="SUCCESS").count() >= 3
            ),
            timeout=40,
            what="three finished runs",
        )
    finally:
        worker.stop()

    # then the skipped slots are recorded and runs never overlapped
    runs = list(
        TaskResult.objects.filter(periodic_task_name="slow", status="SUCCESS").order_by(
            "date_created"
        )
    )
    for previous, following in zip(runs, runs[1:], strict=False):
        assert following.date_created >= previous.date_done
    skips = [
        e
        for e in schedule_missed_runs(task_id=task.pk)
        if e.kind == ScheduleEvent.Kind.SKIPPED_OVERLAP
    ]
    assert len(skips) >= 2 * (len(runs) - 1)


def test_slots_missed_while_the_broker_is_down_are_recorded_and_caught_up(beats, tmp_path):
    # given beat on a private Redis (broker and lease), a run_once and a skip schedule
    server = RedisServer(tmp_path)
    server.start()
    try:
        every(1, name="run-once", queue="missed")
        skipper = every(1, name="skip-late", queue="missed")
        ScheduleSettings.objects.create(periodic_task=skipper, catch_up="skip", catch_up_deadline=0)
        beat = beats.start_leader(REDIS_URL=server.url, TASKCENTER_BEAT_MISSED_GRACE="2")
        wait_for(
            lambda: beat.output().count("beat: sent run-once") >= 2,
            timeout=20,
            what="dispatches while the broker is up",
        )

        # when the broker is down across several due times, then comes back
        server.stop()
        wait_for(
            lambda: ScheduleEvent.objects.filter(outcome="pending").exists(),
            timeout=20,
            what="a failed publish recorded as pending",
        )
        wait_for(lambda: "standing by: " in beat.output(), timeout=20, what="lease lost")
        server.start()
        wait_for(
            lambda: (
                not ScheduleEvent.objects.filter(outcome="pending").exists()
                and ScheduleEvent.objects.filter(periodic_task=skipper).exists()
            ),
            timeout=20,
            what="missed slots resolved",
        )
        sent_after = beat.output().split("leading")[-1]
    finally:
        beats.stop_all()
        server.stop()

    # then each schedule shows one missed record resolved by its policy
    ran = schedule_missed_runs(task_id=PeriodicTask.objects.get(name="run-once").pk)
    skipped = schedule_missed_runs(task_id=skipper.pk)
    assert [(e.kind, e.outcome) for e in ran] == [("missed", "ran_once")]
    everything = list(
        ScheduleEvent.objects.values(
            "periodic_task__name", "slot", "outcome", "reason", "slots", "pk"
        )
    )
    assert [(e.kind, e.outcome) for e in skipped] == [("missed", "skipped")], everything
    assert ran[0].slots > 1
    assert skipped[0].slots > 1
    assert "beat: sent run-once" in sent_after
    assert {e.pk for e in missed_runs_recent()} == {ran[0].pk, skipped[0].pk}
