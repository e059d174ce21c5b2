"""Real beat processes: one leader dispatches, a standby takes over, restarts keep last-run."""

import time

import pytest
import redis
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from taskcenter.beat.status import beat_leader_status
from tests.beat.conftest import (
    ago,
    assert_consecutive,
    every,
    kill_hard,
    wait_for_log,
)
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TTL = 4  # the lease TTL the beats fixture gives every beat


def test_two_beats_dispatch_each_slot_once_and_standby_takes_over_within_ttl(outbox, beats):
    # given a 1 s schedule and two beat processes on the same database and lease
    every(1, name="tick", queue=outbox.queue)
    first = beats.start_leader("first")
    second = beats.start("second")
    wait_for_log(second, "standing by")
    wait_for(lambda: len(outbox.of("tick")) >= 4, timeout=20, what="four dispatches")
    status = beat_leader_status()
    assert status.leader
    assert status.leader in first.output()
    assert "beat: sent" not in second.output()

    # when the leader dies without releasing its lease
    killed_at = time.monotonic()
    kill_hard(first)
    wait_for_log(second, ": leading", timeout=TTL + 6)
    takeover = time.monotonic() - killed_at
    before = len(outbox.of("tick"))
    wait_for(lambda: len(outbox.of("tick")) >= before + 3, timeout=20, what="standby sends")

    # then the standby leads within the TTL and no slot was sent twice or left out
    assert takeover <= TTL + 1.5, f"takeover took {takeover:.1f}s"
    assert_consecutive(outbox.of("tick"), 1)
    assert "beat: sent tick" in second.output()


def test_graceful_stop_hands_the_lease_over_at_once(outbox, beats):
    every(1, name="tick", queue=outbox.queue)
    first = beats.start_leader("first")
    second = beats.start("second")
    wait_for_log(second, "standing by")
    wait_for(lambda: len(outbox.of("tick")) >= 2, timeout=20, what="dispatches")

    first.stop()
    stopped_at = time.monotonic()
    wait_for_log(second, ": leading", timeout=TTL + 6)
    took_over = time.monotonic() - stopped_at
    wait_for(lambda: "beat: sent tick" in second.output(), timeout=10, what="second sends")

    assert took_over < TTL / 2, "the standby waited for the lease to expire"
    assert_consecutive(outbox.of("tick"), 1)


def test_restart_keeps_last_run_neither_repeating_nor_postponing(outbox, beats):
    # given a weekly schedule that never ran, one that ran six days ago, one due in 3 s
    week = 7 * 24 * 3600
    weekly, _ = IntervalSchedule.objects.get_or_create(every=week, period="seconds")
    fresh = PeriodicTask.objects.create(
        name="fresh", task="tests.beat.noop", interval=weekly, queue=outbox.queue
    )
    ran = PeriodicTask.objects.create(
        name="ran",
        task="tests.beat.noop",
        interval=weekly,
        queue=outbox.queue,
        last_run_at=ago(6 * 24 * 3600),
    )
    due = PeriodicTask.objects.create(
        name="due",
        task="tests.beat.noop",
        interval=weekly,
        queue=outbox.queue,
        last_run_at=ago(week - 3),
    )
    every(1, name="tick", queue=outbox.queue)
    beat = beats.start_leader("before")
    wait_for(
        lambda: PeriodicTask.objects.get(pk=fresh.pk).last_run_at,
        timeout=10,
        what="the first last_run_at stored",
    )
    wait_for(lambda: outbox.of("due"), timeout=15, what="the due weekly run")
    stored = {t.pk: t.last_run_at for t in PeriodicTask.objects.all()}

    # when beat restarts
    beat.stop()
    beat = beats.start_leader("after")
    wait_for(lambda: beat.output().count("beat: sent tick") >= 3, timeout=15, what="ticking again")

    # then weekly runs are neither repeated nor pushed back; 1 s slots continue
    for task in (fresh, ran):
        assert PeriodicTask.objects.get(pk=task.pk).last_run_at == stored[task.pk]
    assert len(outbox.of("due")) == 1
    assert outbox.of("fresh") == []
    assert outbox.of("ran") == []
    assert_consecutive(outbox.of("tick"), 1)
    assert PeriodicTask.objects.get(pk=due.pk).last_run_at == outbox.of("due")[0].slot


def test_leader_that_finds_its_lease_taken_stops_dispatching(outbox, beats):
    # given a leader dispatching a 1 s schedule
    every(1, name="tick", queue=outbox.queue)
    beat = beats.start_leader()
    wait_for(lambda: len(outbox.of("tick")) >= 2, timeout=20, what="dispatches")

    # when another holder takes the lease key
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(beats.env["TASKCENTER_BEAT_LEASE_KEY"], "intruder", px=60_000)
    wait_for_log(beat, "standing by: lost the leader lease", timeout=5)
    log_at_loss = beat.output()
    sent_then = len(outbox.of("tick"))
    stopped_at = time.monotonic()
    wait_for(lambda: time.monotonic() - stopped_at > 2.5, timeout=5, what="2.5 s to pass")

    # then it sends nothing more
    assert len(outbox.of("tick")) == sent_then
    assert "beat: sent" not in beat.output()[len(log_at_loss) :]
