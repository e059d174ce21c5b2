"""Slot arithmetic with a controlled clock: catch-up policies and daylight-saving days."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery import schedules
from django_celery_beat.tzcrontab import TzAwareCrontab

from taskcenter.beat.slots import Action, next_slot, plan

BERLIN = ZoneInfo("Europe/Berlin")


def _simulate(sched, *, start, end, step=timedelta(seconds=20)):
    """Drive `plan` on a fake clock from start to end; return the slots sent."""
    now, last, sent = start, start, []
    while now < end:
        decision = plan(sched, last, now=now, grace=10, catch_up="run_once", deadline=3600)
        if decision.action == Action.SEND:
            sent.append(decision.slot)
            last = decision.last_run_at
            assert decision.next_at > last, "no progress: would loop"
            continue  # the next slot may already be due
        now += step
    return sent


def _local(slots):
    return [s.astimezone(BERLIN).strftime("%m-%d %H:%M %Z") for s in slots]


def test_daily_cron_in_the_spring_gap_runs_once_that_day():
    cron = TzAwareCrontab(minute="30", hour="2", tz=BERLIN)

    sent = _simulate(
        cron, start=datetime(2026, 3, 28, 12, tzinfo=UTC), end=datetime(2026, 3, 30, 12, tzinfo=UTC)
    )

    assert _local(sent) == ["03-29 03:30 CEST", "03-30 02:30 CEST"]


def test_daily_cron_in_the_autumn_repeat_runs_once_not_twice():
    cron = TzAwareCrontab(minute="30", hour="2", tz=BERLIN)

    sent = _simulate(
        cron,
        start=datetime(2026, 10, 24, 12, tzinfo=UTC),
        end=datetime(2026, 10, 26, 12, tzinfo=UTC),
    )

    assert _local(sent) == ["10-25 02:30 CEST", "10-26 02:30 CET"]


def test_half_hourly_cron_runs_each_wall_clock_slot_at_most_once_across_both_changes():
    cron = TzAwareCrontab(minute="*/30", hour="*", tz=BERLIN)

    autumn = _simulate(
        cron,
        start=datetime(2026, 10, 24, 23, tzinfo=UTC),
        end=datetime(2026, 10, 25, 3, tzinfo=UTC),
    )
    spring = _simulate(
        cron, start=datetime(2026, 3, 29, 0, tzinfo=UTC), end=datetime(2026, 3, 29, 2, tzinfo=UTC)
    )

    for sent in (autumn, spring):
        walls = [s.astimezone(BERLIN).replace(tzinfo=None) for s in sent]
        assert len(walls) == len(set(walls))
        assert sent == sorted(set(sent))
    assert _local(autumn)[-2:] == ["10-25 03:00 CET", "10-25 03:30 CET"]
    assert _local(spring) == ["03-29 01:30 CET", "03-29 03:00 CEST", "03-29 03:30 CEST"]


def test_due_slot_is_sent_and_stored_as_the_slot_not_the_clock():
    sched = schedules.schedule(timedelta(seconds=30))
    last = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    decision = plan(
        sched, last, now=last + timedelta(seconds=31), grace=10, catch_up="run_once", deadline=60
    )

    assert decision.action == Action.SEND
    assert decision.last_run_at == last + timedelta(seconds=30)
    assert decision.next_at == last + timedelta(seconds=60)
    assert decision.missed == 0


def test_slots_late_within_grace_are_each_sent_so_a_short_gap_loses_none():
    sched = schedules.schedule(timedelta(seconds=1))
    last = datetime(2026, 1, 1, 12, tzinfo=UTC)

    sent = _simulate(sched, start=last, end=last + timedelta(seconds=5), step=timedelta(seconds=4))

    assert [int((s - last).total_seconds()) for s in sent] == [1, 2, 3, 4]


@pytest.mark.parametrize(("catch_up", "action"), [("run_once", Action.SEND), ("skip", Action.SKIP)])
def test_slots_missed_beyond_grace_follow_the_catch_up_policy(catch_up, action):
    sched = schedules.schedule(timedelta(minutes=10))
    last = datetime(2026, 1, 1, 12, tzinfo=UTC)
    now = last + timedelta(minutes=35)

    decision = plan(sched, last, now=now, grace=10, catch_up=catch_up, deadline=60)

    assert decision.action == action
    assert decision.missed == 3
    assert decision.slot == last + timedelta(minutes=10)
    assert decision.last_run_at == last + timedelta(minutes=30)
    assert decision.next_at == last + timedelta(minutes=40)


def test_skip_policy_still_runs_a_missed_slot_within_its_deadline():
    sched = schedules.schedule(timedelta(minutes=10))
    last = datetime(2026, 1, 1, 12, tzinfo=UTC)

    decision = plan(
        sched,
        last,
        now=last + timedelta(minutes=10, seconds=30),
        grace=10,
        catch_up="skip",
        deadline=60,
    )

    assert (decision.action, decision.missed) == (Action.SEND, 1)


def test_weekly_cron_missed_for_a_month_counts_its_slots_without_replaying_them():
    cron = TzAwareCrontab(minute="0", hour="9", day_of_week="1", tz=BERLIN)
    last = datetime(2026, 1, 5, 8, tzinfo=UTC)  # Monday 09:00 Berlin
    now = datetime(2026, 2, 3, 12, tzinfo=UTC)

    decision = plan(cron, last, now=now, grace=10, catch_up="run_once", deadline=60)

    assert decision.action == Action.SEND
    assert decision.missed == 4
    assert _local([decision.last_run_at, decision.next_at]) == [
        "02-02 09:00 CET",
        "02-09 09:00 CET",
    ]


def test_next_slot_of_an_interval_is_exactly_one_period_on():
    sched = schedules.schedule(timedelta(hours=1))
    last = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)

    assert next_slot(sched, last, now=last) == last + timedelta(hours=1)
