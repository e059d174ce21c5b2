"""RabbitMQ as the broker (a private vhost on the machine's node): trigger path, lost worker.

Fault 2 on RabbitMQ: the run of a SIGKILLed worker goes back to its quorum queue as soon
as the connection drops, so a new worker runs it at once, with no visibility timeout to
wait out. And a trigger through the web server (gunicorn) on RabbitMQ is published with
a publisher confirm and run by a worker.
"""

import subprocess
import sys
import time

import pytest
from django_celery_results.models import TaskResult

from tests.conftest import Proc, child_env, wait_for
from tests.faults.conftest import (
    SuiteRedis,
    count,
    fault_env,
    free_port,
    kill_worker,
    result_row,
    send,
    start_fault_worker,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

#: Seconds a lost run may take to reappear on RabbitMQ: a new worker's start-up, no timeout.
REAPPEARS_WITHIN = 30


def test_a_killed_workers_run_is_redelivered_at_once_on_rabbitmq(rabbit_vhost, tmp_path):
    counts = SuiteRedis()
    worker = start_fault_worker(tmp_path, rabbit_vhost.url, concurrency=1)
    try:
        # Given an idempotent run in progress when the whole worker is SIGKILLed
        task_id = send(rabbit_vhost.url, "tests.faults.work_idempotent", seconds=2)
        wait_for(lambda: count(counts, "started", task_id) == 1, timeout=60, what="start")
        kill_worker(worker)
        killed_at = time.monotonic()
    finally:
        worker.stop()

    # When a new worker starts, the run is delivered to it and ends SUCCESS, run once more
    worker = start_fault_worker(tmp_path, rabbit_vhost.url, concurrency=1)
    try:
        row = wait_for(
            lambda: result_row(task_id, "SUCCESS", "FAILURE"),
            timeout=REAPPEARS_WITHIN,
            what="the lost run to run again",
        )
        assert row.status == "SUCCESS", row.result
        assert time.monotonic() - killed_at <= REAPPEARS_WITHIN
        assert count(counts, "started", task_id) == 2
        assert count(counts, "done", task_id) == 1
    finally:
        worker.stop()


def test_a_trigger_through_the_web_server_runs_on_rabbitmq(
    rabbit_vhost, make_user, token_for, tmp_path
):
    from tests.api.conftest import HttpClient

    token = token_for(make_user(jobs=("jobs.demo.add",)))
    # Given a worker of the catalog's default queue and the web server, both on RabbitMQ
    default_worker = _start_default_worker(tmp_path, rabbit_vhost.url)
    port = free_port()
    web = Proc(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        tmp_path / "gunicorn.log",
        child_env(BROKER_URL=rabbit_vhost.url),
    )
    try:
        http = HttpClient(f"http://127.0.0.1:{port}")

        def up() -> bool:
            try:
                return http.get("/health").status == 200
            except OSError:
                return False

        wait_for(up, timeout=60, what="gunicorn to answer")

        # When a run is triggered through the API, on RabbitMQ
        answer = http.post(
            "/api/jobs/jobs.demo.add/runs", {"kwargs": {"x": 2, "y": 3}}, token=token
        )
        assert answer.status == 202, answer.raw[:300]
        run_id = answer.body["id"]

        # Then a worker on RabbitMQ runs it and the API shows its result
        wait_for(
            lambda: TaskResult.objects.filter(task_id=run_id, status="SUCCESS").exists(),
            timeout=60,
            what="the triggered run to succeed",
        )
        status = http.get(f"/api/runs/{run_id}", token=token).body
        assert (status["state"], status["result"]) == ("SUCCESS", 5)

        # And the queue it went through is a durable quorum queue
        listed = subprocess.run(
            [
                "rabbitmqctl",
                "-q",
                "list_queues",
                "-p",
                rabbit_vhost.name,
                "name",
                "type",
                "durable",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        assert listed[listed.index("default") + 1 : listed.index("default") + 3] == [
            "quorum",
            "true",
        ]
    finally:
        web.stop()
        default_worker.stop()


def _start_default_worker(tmp, broker_url: str) -> Proc:
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-l",
        "INFO",
        "-c",
        "1",
        "-n",
        f"default-{free_port()}@%h",
        "-Q",
        "default",
        "--without-mingle",
        "--without-gossip",
        "--statedb",
        str(tmp / "default.state"),
    ]
    proc = Proc(argv, tmp / "default-worker.log", fault_env(broker_url))
    wait_for(lambda: " ready." in proc.output(), timeout=90, what="the default-queue worker")
    return proc


def test_hostile_messages_on_rabbitmq_are_refused_recorded_and_never_run(rabbit_vhost, tmp_path):
    import json
    import pickle
    import uuid

    from django.conf import settings
    from kombu import Connection

    from taskcenter.models import DeadLetter
    from tests.faults.conftest import QUEUE, fault_queue
    from tests.faults.test_hostile_messages import _headers, _Shell

    marker = tmp_path / "pwned"
    job = "tests.faults.work_once"
    hostile = {
        "pickle": (pickle.dumps(([_Shell(str(marker))], {}, {})), "application/x-python-serialize"),
        "unknown task": (b'[[], {"seconds": 0}, {}]', "application/json"),
        "malformed JSON body": (b'{"kwargs": {', "application/json"),
        "huge body": (
            json.dumps([[], {"x": "x" * (2 * settings.TASKCENTER_MAX_MESSAGE_BYTES)}, {}]).encode(),
            "application/json",
        ),
    }
    headers = {what: _headers(job) for what in hostile}
    headers["unknown task"]["task"] = "evil.unknown"
    worker = start_fault_worker(tmp_path, rabbit_vhost.url, concurrency=1)
    try:
        # Given hostile messages published straight to the worker's quorum queue
        queue = fault_queue(rabbit_vhost.url)
        with Connection(rabbit_vhost.url) as conn, conn.Producer() as producer:
            for what, (body, content_type) in hostile.items():
                producer.publish(
                    body,
                    exchange=queue.exchange,
                    routing_key=QUEUE,
                    headers=headers[what],
                    content_type=content_type,
                    content_encoding="binary" if "pickle" in what else "utf-8",
                    declare=[queue],
                    correlation_id=str(uuid.uuid4()),
                )
        after = send(rabbit_vhost.url, job)

        # Then the worker keeps consuming, and each one is refused, recorded and never run
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="the real run")
        refused = DeadLetter.objects.filter(exception_type="RefusedMessage")
        wait_for(lambda: refused.count() >= len(hostile), timeout=30, what="the records")
        messages = list(refused.values_list("message", flat=True))
        for what in hostile:
            assert any(headers[what]["id"] in m for m in messages), (what, messages)
        limit = f"more than {settings.TASKCENTER_MAX_MESSAGE_BYTES}"
        assert any(headers["huge body"]["id"] in m and limit in m for m in messages), messages
        assert not marker.exists()
        counts = SuiteRedis()
        assert all(count(counts, "started", h["id"]) == 0 for h in headers.values())
        assert worker.popen.poll() is None
    finally:
        worker.stop()


def test_sigterm_on_rabbitmq_finishes_the_running_job_and_leaves_queued_ones(
    rabbit_vhost, tmp_path
):
    counts = SuiteRedis()
    worker = start_fault_worker(tmp_path, rabbit_vhost.url, concurrency=1)
    try:
        # Given a long at-most-once job running and three more queued behind it
        running = send(rabbit_vhost.url, "tests.faults.work_once", seconds=4)
        wait_for(lambda: count(counts, "started", running) == 1, timeout=60, what="start")
        queued = [send(rabbit_vhost.url, "tests.faults.work_once") for _ in range(3)]

        # When the worker gets SIGTERM mid-job
        worker.popen.terminate()
        assert worker.popen.wait(60) == 0

        # Then the running job finished and none of the queued ones ran
        assert result_row(running, "SUCCESS") is not None
        assert all(count(counts, "started", q) == 0 for q in queued)
    finally:
        worker.stop()

    # And after the restart every queued job runs once, and the finished one not again
    worker = start_fault_worker(tmp_path, rabbit_vhost.url, concurrency=1)
    try:
        for task_id in queued:
            wait_for(lambda t=task_id: result_row(t, "SUCCESS"), timeout=60, what="queued run")
        assert [count(counts, "started", q) for q in queued] == [1, 1, 1]
        assert count(counts, "started", running) == 1
    finally:
        worker.stop()
