"""Fault 7: beat down for three periods, then back: the documented catch-up, missed runs shown.

A schedule with the default policy (`run_once`) gets one catch-up run for all the slots it
missed; one with `skip` past its deadline gets none; each has one missed-run record that
says how many slots were missed and how they were resolved.
"""

import time

import pytest

from taskcenter.beat.status import schedule_missed_runs
from taskcenter.models import ScheduleSettings
from tests.beat.conftest import every, kill_hard
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PERIOD = 2


def test_beat_down_three_periods_catches_up_once_or_skips_and_reports_missed(outbox, beats):
    # Given a run-once and a skip schedule every two seconds, sent by a leading beat
    ran = every(PERIOD, name="catch-up", queue=outbox.queue)
    skipper = every(PERIOD, name="skip-late", queue=outbox.queue)
    ScheduleSettings.objects.create(periodic_task=skipper, catch_up="skip", catch_up_deadline=0)
    # A slot sent more than a period late counts as missed (not a slow start on a busy host).
    grace = {"TASKCENTER_BEAT_MISSED_GRACE": str(PERIOD)}
    beat = beats.start_leader("beat", **grace)
    wait_for(lambda: len(outbox.of("catch-up")) >= 2, timeout=30, what="dispatches")

    # When beat is killed and stays down for three periods, then starts again
    kill_hard(beat)
    before = {n: len(outbox.of(n)) for n in ("catch-up", "skip-late")}
    time.sleep(4 * PERIOD)
    beats.start_leader("beat-again", **grace)

    # Then each schedule has one missed-run record, resolved by its policy
    wait_for(
        lambda: schedule_missed_runs(task_id=ran.pk) and schedule_missed_runs(task_id=skipper.pk),
        timeout=30,
        what="the missed runs to be recorded",
    )
    wait_for(lambda: len(outbox.of("catch-up")) >= before["catch-up"] + 2, what="new slots")
    # (only the outage's: a slot sent late on a busy host may leave a one-slot record too)
    [missed] = [e for e in schedule_missed_runs(task_id=ran.pk) if e.slots >= 2]
    [skipped] = [e for e in schedule_missed_runs(task_id=skipper.pk) if e.slots >= 2]
    assert (missed.kind, missed.outcome) == ("missed", "ran_once")
    assert (skipped.kind, skipped.outcome) == ("missed", "skipped")

    # And the run-once schedule sent one run for all its missed slots, not one each
    everything = outbox.of("catch-up")
    last_before, sent = everything[before["catch-up"] - 1], everything[before["catch-up"] :]
    assert (sent[0].slot - last_before.slot).total_seconds() > 2 * PERIOD, everything
    gaps = [(b.slot - a.slot).total_seconds() for a, b in zip(sent, sent[1:], strict=False)]
    assert set(gaps) == {PERIOD}, everything
