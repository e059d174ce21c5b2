"""Fault 6: two beats, the leader SIGKILLed: every schedule fires once per period across it.

Many one-second schedules make a slot that falls into the handover likely for each of
them; every slot of every schedule must be dispatched exactly once, none skipped.
"""

import time

import pytest

from tests.beat.conftest import assert_consecutive, every, kill_hard, wait_for_log
from tests.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCHEDULES = 8
TTL = 4  # the lease TTL the beats fixture gives every beat


def test_every_schedule_fires_once_per_slot_across_a_killed_leaders_handover(outbox, beats):
    # Given many one-second schedules and two beats, one leading
    names = [f"tick-{i}" for i in range(SCHEDULES)]
    for name in names:
        every(1, name=name, queue=outbox.queue)
    first = beats.start_leader("first")
    second = beats.start("second")
    wait_for_log(second, "standing by")
    wait_for(lambda: all(len(outbox.of(n)) >= 3 for n in names), timeout=30, what="dispatches")

    # When the leader is SIGKILLed, holding its lease
    kill_hard(first)
    wait_for_log(second, ": leading", timeout=TTL + 10)
    after = {n: len(outbox.of(n)) for n in names}
    wait_for(
        lambda: all(len(outbox.of(n)) >= after[n] + 3 for n in names),
        timeout=30,
        what="the new leader's dispatches",
    )
    time.sleep(0.5)

    # Then for every schedule each slot went out once and none was left out
    for name in names:
        assert_consecutive(outbox.of(name), 1)
