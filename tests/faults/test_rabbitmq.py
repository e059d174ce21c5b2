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
