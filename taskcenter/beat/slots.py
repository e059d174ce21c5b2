"""Slot arithmetic: which due time a schedule is at, what was missed, what to do about it.

Pure functions of (schedule, last run, now), so daylight-saving gaps and repeats can be
tested with a controlled clock. A *slot* is one due time of a schedule; beat stores the
slot it dispatched (not the wall clock of the send) as `last_run_at`, so an interval
schedule does not drift and a restart knows exactly which slot came last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from celery import schedules
from django_celery_beat.clockedschedule import clocked

#: Longest walk over missed crontab slots before giving up counting (a minutely cron
#: missed for a week is 10,080 slots; the count is only informative past that).
MAX_SLOT_WALK = 20000


class Action:
    WAIT = "wait"
    SEND = "send"
    SKIP = "skip"


@dataclass(frozen=True)
class Plan:
    """What to do with one schedule now."""

    action: str
    #: First due slot not yet handled (None when waiting).
    slot: datetime | None
    #: Slot to store as last_run_at once acted upon.
    last_run_at: datetime | None
    #: Slots that are late beyond the grace period (0 when on time).
    missed: int
    #: When to look at this schedule next.
    next_at: datetime


def _wall(sched: schedules.BaseSchedule, when: datetime) -> datetime:
    tz = getattr(sched, "tz", None) or UTC
    return when.astimezone(tz).replace(tzinfo=None, fold=0)


def next_slot(sched: schedules.BaseSchedule, after: datetime, *, now: datetime) -> datetime:
    """Return the first slot of `sched` strictly after `after`, in UTC.

    The schedule's clock is pinned to `now` for the computation (Celery's estimates are
    relative to "now"). A crontab slot whose wall-clock time equals `after`'s (the
    repeated hour when daylight saving ends) is the same slot and is passed over.
    """
    if isinstance(sched, clocked):
        return sched.clocked_time.astimezone(UTC)
    saved = sched.nowfun
    sched.nowfun = lambda: now
    try:
        slot = (now + sched.remaining_estimate(after)).astimezone(UTC)
        if isinstance(sched, schedules.crontab):
            hops = 0
            while (slot <= after or _wall(sched, slot) == _wall(sched, after)) and hops < 4:
                # Repeated wall time, or no progress: look past it (bounded).
                slot = now + sched.remaining_estimate(max(slot, after) + timedelta(minutes=1))
                slot = slot.astimezone(UTC)
                hops += 1
    finally:
        sched.nowfun = saved
    return slot


def latest_slot(
    sched: schedules.BaseSchedule, first: datetime, *, now: datetime
) -> tuple[datetime, int]:
    """Return the latest slot at or before `now`, starting from due slot `first`, and the
    number of slots from `first` to it (inclusive)."""
    if isinstance(sched, schedules.schedule) and not sched.relative:
        every = sched.run_every.total_seconds()
        if every <= 0:
            return first, 1
        steps = int((now - first).total_seconds() // every)
        return first + timedelta(seconds=steps * every), steps + 1
    if isinstance(sched, clocked):
        return first, 1
    latest, count = first, 1
    while count < MAX_SLOT_WALK:
        following = next_slot(sched, latest, now=now)
        if following > now or following <= latest:
            break
        latest, count = following, count + 1
    return latest, count


def plan(
    sched: schedules.BaseSchedule,
    last_run_at: datetime,
    *,
    now: datetime,
    grace: float,
    catch_up: str,
    deadline: float,
) -> Plan:
    """Decide what to do with a schedule whose last handled slot is `last_run_at`.

    On time (due, and late by at most `grace` seconds): send. Otherwise the slots are
    missed and the catch-up policy decides: `run_once` sends one run for all of them;
    `skip` sends one run if the latest missed slot is at most `deadline` seconds old,
    and otherwise skips them all. Either way `last_run_at` moves to the latest slot, so
    missed slots are never replayed one by one.
    """
    slot = next_slot(sched, last_run_at, now=now)
    if slot > now:
        return Plan(Action.WAIT, None, None, 0, slot)
    if (now - slot).total_seconds() <= grace:
        # Late within the grace period: send this slot; the next, if also due, follows at
        # once, so a short gap (leader handover, restart) loses no slot.
        return Plan(Action.SEND, slot, slot, 0, next_slot(sched, slot, now=now))
    latest, count = latest_slot(sched, slot, now=now)
    following = next_slot(sched, latest, now=now)
    if catch_up == "skip" and (now - latest).total_seconds() > deadline:
        return Plan(Action.SKIP, slot, latest, count, following)
    return Plan(Action.SEND, slot, latest, count, following)
