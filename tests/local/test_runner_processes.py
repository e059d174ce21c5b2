"""The real `run_apscheduler` command: runs recorded, one leader, clean SIGTERM, faults survived."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

import tests.local.jobs  # noqa: F401  (the test jobs, in this process's catalog too)
from taskcenter.models import BeatLease, LocalJobRun, ProcessHeartbeat
from tests.conftest import wait_for
from tests.local.conftest import LEASE_TTL, kill_hard, wait_for_log

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def runs(job: str, **filters) -> list[LocalJobRun]:
    return list(LocalJobRun.objects.filter(job=job, **filters).order_by("started_at", "id"))


def at_least(count: int, job: str, **filters):
    return lambda: len(found := runs(job, **filters)) >= count and found


def test_runs_of_a_job_every_second_are_recorded(schedulers):
    proc = schedulers.start_leader("tests.local.tick")

    recorded = wait_for(at_least(3, "tests.local.tick"), timeout=30, what="three runs")

    for run in recorded:
        assert run.outcome == LocalJobRun.Outcome.SUCCESS
        assert run.scheduled_at is not None
        assert run.started_at >= run.scheduled_at
        assert run.finished_at >= run.started_at
        assert run.duration >= 0
        assert run.process.endswith(f":{proc.popen.pid}")
    beat = wait_for(
        lambda: ProcessHeartbeat.objects.filter(pid=proc.popen.pid, is_leader=True).first(),
        timeout=10,
        what="the leader's heartbeat row",
    )
    assert beat.role == ProcessHeartbeat.Role.APSCHEDULER
    assert "tests.local.tick" in beat.details["next_run_times"]


@pytest.mark.parametrize(
    "lease_env",
    [pytest.param({}, id="redis-lease"), pytest.param({"REDIS_URL": ""}, id="database-lease")],
)
def test_second_instance_runs_nothing_until_the_leader_is_killed_then_takes_over(
    schedulers, lease_env
):
    first = schedulers.start_leader("tests.local.tick", **lease_env)
    second = schedulers.start("tests.local.tick", **lease_env)
    wait_for_log(second, ": standing by", timeout=60)
    wait_for(at_least(3, "tests.local.tick"), timeout=30, what="the leader's runs")
    assert not runs("tests.local.tick", process__endswith=f":{second.popen.pid}")

    killed_at = time.monotonic()
    kill_hard(first)
    wait_for_log(second, ": leading", timeout=LEASE_TTL + 20)
    took_over = time.monotonic() - killed_at
    wait_for(
        at_least(2, "tests.local.tick", process__endswith=f":{second.popen.pid}"),
        timeout=20,
        what="runs by the new leader",
    )

    assert took_over <= LEASE_TTL + 2  # the poll granularity and a loaded machine on top
    key = schedulers.env["TASKCENTER_LOCAL_LEASE_KEY"]
    in_database = BeatLease.objects.filter(name=key, holder__contains=f":{second.popen.pid}:")
    assert in_database.exists() == bool(lease_env)
    everything = runs("tests.local.tick")
    slots = [run.scheduled_at for run in everything]
    assert len(slots) == len(set(slots)), "a slot ran twice"
    by_first = [r for r in everything if r.process.endswith(f":{first.popen.pid}")]
    by_second = [r for r in everything if r.process.endswith(f":{second.popen.pid}")]
    assert min(r.scheduled_at for r in by_second) > max(r.scheduled_at for r in by_first)
    assert min(r.started_at for r in by_second) > max(r.finished_at for r in by_first)


def test_sigterm_lets_the_running_job_finish_be_recorded_and_hands_over_at_once(schedulers):
    leader = schedulers.start_leader("tests.local.slow")
    standby = schedulers.start("tests.local.slow")
    wait_for_log(standby, ": standing by", timeout=60)
    marker = Path(schedulers.env["TC_TEST_LOCAL_DIR"]) / "slow.started"
    wait_for(marker.exists, timeout=20, what="the slow job to start")
    wait_for(at_least(1, "tests.local.slow", outcome="skipped"), timeout=20, what="a skip")

    termed_at = time.time()
    leader.popen.send_signal(signal.SIGTERM)
    leader.popen.wait(30)
    wait_for_log(standby, ": leading", timeout=5)

    assert leader.popen.returncode == 0
    assert "released the leader lease" in leader.output()
    finished = runs("tests.local.slow", outcome="success", process__endswith=f":{leader.popen.pid}")
    assert finished, leader.output()[-3000:]
    assert finished[-1].finished_at.timestamp() >= termed_at
    assert finished[-1].duration >= 1
    skipped = runs("tests.local.slow", outcome="skipped")[0]
    assert skipped.started_at is None
    assert skipped.scheduled_at is not None


def test_a_job_that_raises_is_recorded_with_its_scrubbed_error_and_runs_again(schedulers):
    schedulers.start_leader("tests.local.boom")

    failed = wait_for(at_least(2, "tests.local.boom", outcome="failed"), timeout=30, what="fails")

    assert len({run.scheduled_at for run in failed}) == len(failed)
    for run in failed:
        assert run.error.startswith("RuntimeError: cannot reach mysql://***@db")
        assert "hunter2" not in run.error
        assert "hunter2" not in run.traceback
        assert "in boom" in run.traceback
