"""Fault 4 on RabbitMQ: the broker node killed and started again while runs are queued.

On a private node (`own_rabbit`; the machine's node is never stopped), SIGKILLed with no
clean shutdown: the quorum queue and the messages it confirmed are on disk, so every run
queued before the crash completes after the restart with no manual step, and the worker
and the web server reconnect by themselves. A trigger while the node is down answers 503
with `Retry-After` and leaves no run behind. After a clean stop and start, the web
server, the worker and beat reconnect by themselves.

One gap is the broker's: a quorum queue first declared a few seconds before the SIGKILL
can come back without a Raft leader ("leader not known" in the node's log) and confirms no
publish to it. The AMQP socket timeouts (`AMQP_SOCKET_TIMEOUT`) bound what a trigger to
such a queue costs: it answers (202, or 503 and no run) within seconds, not minutes.
"""

import time

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from taskcenter.models import Run
from tests.conftest import wait_for
from tests.faults.conftest import SuiteRedis, count, result_row, send, start_fault_worker
from tests.faults.test_broker_restart import RUNS, _start_web
from tests.faults.test_rabbitmq import _start_default_worker

# A quorum queue declared this long before a SIGKILL comes back with its leader (seen: 5 s).
SETTLE = 8.0
# A trigger whose confirm never comes fails after a few socket timeouts (2 s each): ~10 s.
ANSWER_BOUND = 20.0

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_runs_queued_before_a_rabbitmq_crash_complete_after_its_restart(
    own_rabbit, tmp_path, make_user, token_for
):
    counts = SuiteRedis()
    token = token_for(make_user(jobs=("jobs.demo.add", "jobs.reports.build_report")))
    trigger = ("/api/jobs/jobs.demo.add/runs", {"kwargs": {"x": 1, "y": 2}})
    fresh_queue = ("/api/jobs/jobs.reports.build_report/runs", {"kwargs": {}})
    worker = start_fault_worker(tmp_path, own_rabbit.url, concurrency=1)
    web, http = _start_web(tmp_path, BROKER_URL=own_rabbit.url)
    try:
        # Given a web server and a worker whose queues were declared well before the crash
        assert http.post(*trigger, token=token).status == 202
        # (an age the queues must reach, not a wait for an event: the broker shows none)
        time.sleep(SETTLE)
        # and idempotent runs queued behind one in progress
        queued = [
            send(own_rabbit.url, "tests.faults.work_idempotent", seconds=1) for _ in range(RUNS)
        ]
        wait_for(lambda: count(counts, "started", queued[0]) == 1, timeout=60, what="start")
        # and a queue (`reports`) first declared just before the crash
        assert http.post(*fresh_queue, token=token).status == 202

        # When the node is SIGKILLed, stays down a while, then starts on the same data
        own_rabbit.kill()
        down = http.post(*trigger, token=token)
        assert down.status == 503, down.raw[:300]
        assert down.headers.get("retry-after")
        assert Run.objects.count() == 2  # the refused trigger left no run behind
        time.sleep(2)
        started = time.monotonic()
        own_rabbit.start()
        print(f"private RabbitMQ node restarted in {time.monotonic() - started:.1f}s")

        # Then every queued run completes, and the worker (still the same process) goes on
        for task_id in queued:
            row = wait_for(
                lambda t=task_id: result_row(t, "SUCCESS", "FAILURE"),
                timeout=90,
                what="a run queued before the crash",
            )
            assert row.status == "SUCCESS", row.result
        assert all(count(counts, "done", t) >= 1 for t in queued)
        assert worker.popen.poll() is None
        after = send(own_rabbit.url, "tests.faults.work_once")
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="a run sent after")

        # and the web server publishes to the settled queue again, each answer in bounded time
        answers = []

        def published() -> bool:
            answers.append(_timed_post(http, trigger, token))
            return answers[-1][0] == 202

        wait_for(published, timeout=60, interval=1, what="the web server to publish again")
        # and a trigger to the queue declared just before the crash answers in bounded time
        # too (202 if the broker recovered that queue, else 503), leaving no run half-made
        before = Run.objects.count()
        status, seconds = _timed_post(http, fresh_queue, token)
        answers.append((status, seconds))
        print(f"triggers after the restart (status, seconds): {answers}")
        assert all(s in (202, 503) and t < ANSWER_BOUND for s, t in answers), answers
        assert Run.objects.count() == before + (status == 202)
    finally:
        web.stop()
        worker.stop()


def _timed_post(http, request: tuple[str, dict], token: str) -> tuple[int, float]:
    """POST `request`; return its status and how long the answer took."""
    began = time.monotonic()
    status = http.post(*request, token=token).status
    return status, round(time.monotonic() - began, 1)


def test_after_a_clean_rabbitmq_restart_the_web_server_worker_and_beat_reconnect(
    own_rabbit, beats, tmp_path, make_user, token_for
):
    token = token_for(make_user(jobs=("jobs.demo.add",)))
    trigger = ("/api/jobs/jobs.demo.add/runs", {"kwargs": {"x": 1, "y": 2}})
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.create(
        name="across-restart", task="jobs.demo.add", interval=interval, kwargs='{"x": 2, "y": 5}'
    )
    scheduled = TaskResult.objects.filter(periodic_task_name="across-restart", status="SUCCESS")
    worker = _start_default_worker(tmp_path, own_rabbit.url)
    web, http = _start_web(tmp_path, BROKER_URL=own_rabbit.url)
    try:
        # Given a web server whose pooled connection has published once, and a beat
        # whose schedule a worker runs, all on the node
        assert http.post(*trigger, token=token).status == 202
        beats.start_leader(BROKER_URL=own_rabbit.url)
        wait_for(lambda: scheduled.exists(), timeout=60, what="a scheduled run before")

        # When the node is stopped cleanly, refused while down, and started again
        own_rabbit.stop()
        assert http.post(*trigger, token=token).status == 503
        own_rabbit.start()
        restarted = timezone.now()

        # Then the web server publishes again on its own, and the worker runs what it sent
        def published():
            answer = http.post(*trigger, token=token)
            return answer if answer.status == 202 else None

        response = wait_for(
            published, timeout=30, interval=1, what="the web server to publish again"
        )
        run_id = response.body["id"]
        wait_for(lambda: result_row(run_id, "SUCCESS"), timeout=60, what="a triggered run after")
        # and beat dispatches the schedule again, with no restart of its own
        wait_for(
            lambda: scheduled.filter(date_created__gt=restarted).exists(),
            timeout=60,
            what="a scheduled run after the restart",
        )
        assert worker.popen.poll() is None
        assert all(beat.popen.poll() is None for beat in beats.procs)
    finally:
        web.stop()
        worker.stop()
