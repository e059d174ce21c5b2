"""Fault-test servers and workers: a private redis-server and workers bound to it.

Every fault test talks to services it started itself (its own `redis-server` on a free
port, with its own directory), so stopping or killing one never disturbs the machine's
shared services or the rest of the suite. Workers run with short time limits and a short
visibility timeout, so a lost run reappears in seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_celery_results.models import TaskResult
from kombu import Connection, Exchange, Queue

from config.celery import app
from tests.api.conftest import make_user, token_for  # noqa: F401  (the web fault tests' fixtures)
from tests.beat.conftest import beats, outbox  # noqa: F401  (the beat fault tests' fixtures)
from tests.conftest import ROOT, Proc, child_env, wait_for
from tests.servers import MariaDB, RedisServer, free_port  # noqa: F401  (free_port: for tests)

#: The queue only the fault tests' jobs use (tests.faults.tasks).
QUEUE = "faults"
#: The fault workers' settings: a lost run reappears after VISIBILITY + RESTORE seconds.
TIME_LIMIT = 8
VISIBILITY = 10
RESTORE_INTERVAL = 1
#: The database the fault tests' own mariadbd holds (the suite's schema, no rows).
FAULTS_DB = "tc_faults"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private, persistent redis-server for one test."""
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir, persistent=True)
    server.start()
    yield server
    server.stop(signal.SIGKILL)


def is_amqp(url: str) -> bool:
    return url.startswith("amqp://")


def fault_env(broker_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a fault test's worker: its own broker, short limits.

    On RabbitMQ the broker is BROKER_URL, and Redis (the suite's) only keeps the jobs'
    counts; on Redis the test's own server is both.
    """
    broker = {"BROKER_URL": broker_url} if is_amqp(broker_url) else {"REDIS_URL": broker_url}
    defaults = {
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
        "CELERY_TASK_SOFT_TIME_LIMIT": str(TIME_LIMIT - 1),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
        "CELERY_UNACKED_RESTORE_INTERVAL": str(RESTORE_INTERVAL),
        "TASKCENTER_RESULT_STARTED_DELAY": "0",
    }
    return child_env(**{**broker, **defaults, **overrides})


def start_fault_worker(
    tmp: Path, broker_url: str, *, concurrency: int = 1, env: dict[str, str] | None = None
) -> Proc:
    """Start a prefork worker on `broker_url` consuming the faults queue; wait until ready."""
    name = f"fault-{uuid.uuid4().hex[:8]}"
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-l",
        "INFO",
        "-P",
        "prefork",
        "-c",
        str(concurrency),
        "-n",
        f"{name}@%h",
        "-Q",
        QUEUE,
        "-I",
        "tests.faults.tasks",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--statedb",
        str(tmp / f"{name}.state"),
    ]
    proc = Proc(argv, tmp / f"{name}.log", env or fault_env(broker_url))

    def ready() -> bool:
        if proc.popen.poll() is not None:
            pytest.fail(f"worker exited early:\n{proc.output()[-3000:]}")
        return " ready." in proc.output()

    wait_for(ready, timeout=90, what="the fault worker to be ready")
    return proc


def kill_worker(proc: Proc) -> None:
    """SIGKILL a whole worker: its main process and every pool child."""
    os.killpg(proc.popen.pid, signal.SIGKILL)
    proc.popen.wait(30)
    proc.stop()


def fault_queue(broker_url: str) -> Queue:
    """The faults queue as the worker declares it (a quorum queue on RabbitMQ)."""
    arguments = {"x-queue-type": "quorum"} if is_amqp(broker_url) else None
    return Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE, durable=True, queue_arguments=arguments)


def send(broker_url: str, name: str, **kwargs: Any) -> str:
    """Publish one run of the test job `name` to `broker_url`; return its id."""
    return send_many(broker_url, name, 1, **kwargs)[0]


def send_many(broker_url: str, name: str, runs: int, **kwargs: Any) -> list[str]:
    """Publish `runs` runs of the test job `name` to `broker_url` on one connection.

    Celery's own message (protocol 2, JSON), published with kombu on a plain connection:
    this process's settings name another broker and transport. Returns the runs' ids.
    """
    queue = fault_queue(broker_url)
    ids = [str(uuid.uuid4()) for _ in range(runs)]
    with Connection(broker_url) as conn, conn.Producer(serializer="json") as producer:
        for task_id in ids:
            headers, properties, body, _ = app.amqp.create_task_message(task_id, name, (), kwargs)
            producer.publish(
                body,
                exchange=queue.exchange,
                routing_key=QUEUE,
                headers=headers,
                declare=[queue],
                retry=True,
                **properties,
            )
    return ids


class SuiteRedis:
    """The suite's Redis, where jobs on a RabbitMQ broker keep their counts."""

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(settings.REDIS_URL)


def count(server: RedisServer | SuiteRedis, what: str, task_id: str) -> int:
    """How often run `task_id` has `what` ("started" or "done") according to the job."""
    return int(server.client().get(f"faults:{what}:{task_id}") or 0)


def result_row(task_id: str, *states: str) -> TaskResult | None:
    """The run's result row once it is in one of `states`."""
    return TaskResult.objects.filter(task_id=task_id, status__in=states).first()


__all__ = ["ROOT"]


class RabbitVhost:
    """A private vhost on the machine's RabbitMQ node (never stopped), deleted afterwards."""

    def __init__(self) -> None:
        self.name = f"tc-faults-{uuid.uuid4().hex[:8]}"
        self.url = f"amqp://guest:guest@127.0.0.1:5672/{self.name}"

    def create(self) -> None:
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    def delete(self) -> None:
        _rabbitmqctl("delete_vhost", self.name)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, timeout=60, capture_output=True)


@pytest.fixture
def rabbit_vhost() -> Iterator[RabbitVhost]:
    """A private RabbitMQ vhost for one test."""
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            pass
    except OSError as exc:
        pytest.fail(f"RabbitMQ at 127.0.0.1:5672 does not answer: {exc}")
    vhost = RabbitVhost()
    vhost.create()
    yield vhost
    vhost.delete()


@dataclass(frozen=True)
class Broker:
    """The broker a fault test runs on, and the Redis where its jobs keep their counts."""

    kind: str
    url: str
    counts: RedisServer | SuiteRedis


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> Broker:
    """The test's own redis-server, then a private RabbitMQ vhost: one run on each."""
    if request.param == "redis":
        server = request.getfixturevalue("own_redis")
        return Broker("redis", server.url, server)
    vhost = request.getfixturevalue("rabbit_vhost")
    return Broker("rabbitmq", vhost.url, SuiteRedis())


@pytest.fixture
def own_mariadb(tmp_path: Path) -> Iterator[MariaDB]:
    """A private mariadbd with the test schema, for a test that stops the database."""
    server = MariaDB(tmp_path / "mariadb")
    server.start()
    source = connection.settings_dict
    server.copy_schema(
        source_db=str(source["NAME"]),
        host=source["HOST"] or "127.0.0.1",
        port=int(source["PORT"] or 3306),
        target_db=FAULTS_DB,
    )
    yield server
    server.stop()
