"""The warning about a Redis broker that keeps nothing on disk, against real redis-servers."""

import signal
import time
from collections.abc import Iterator

import pytest

from taskcenter.dispatch.broker_persistence import check_broker_persistence
from tests.servers import RedisServer, free_port

pytestmark = [pytest.mark.services]


@pytest.fixture
def redis_server(tmp_path) -> Iterator:
    started: list[RedisServer] = []

    def start(**options) -> RedisServer:
        workdir = tmp_path / f"redis-{len(started)}"
        workdir.mkdir()
        server = RedisServer(workdir, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(signal.SIGKILL)


def _ids(settings, url: str) -> list[str]:
    settings.CELERY_BROKER_URL = url
    return [m.id for m in check_broker_persistence(None)]


def test_a_redis_broker_without_aof_or_snapshots_is_a_deploy_warning(redis_server, settings):
    # Given a Redis broker with appendonly no and no save rule
    server = redis_server(persistent=False)

    # Then the deploy check warns
    assert _ids(settings, server.url) == ["taskcenter.W002"]


def test_a_redis_broker_with_the_append_only_file_is_not_warned_about(redis_server, settings):
    # Given a Redis broker with appendonly yes
    server = redis_server(persistent=True)

    # Then the deploy check is silent
    assert _ids(settings, server.url) == []


def test_a_redis_broker_with_only_snapshots_is_not_warned_about(redis_server, settings):
    # Given a Redis broker with no append-only file but an RDB save rule
    server = redis_server(persistent=False, extra=("--save", "900 1"))

    # Then the deploy check is silent
    assert _ids(settings, server.url) == []


def test_a_redis_broker_refusing_config_gets_no_warning_and_no_error(redis_server, settings):
    # Given a Redis broker whose CONFIG command is disabled, as on managed services
    server = redis_server(persistent=False, extra=("--rename-command", "CONFIG", ""))

    # Then the deploy check neither warns nor fails
    assert _ids(settings, server.url) == []


def test_a_redis_broker_that_is_down_gets_no_warning_within_the_timeout(settings):
    # Given a broker URL where nothing listens
    url = f"redis://127.0.0.1:{free_port()}/0"

    # When the deploy check runs, then it is silent and quick
    started = time.monotonic()
    assert _ids(settings, url) == []
    assert time.monotonic() - started < 3


def test_rabbitmq_and_the_filesystem_broker_are_not_asked(settings):
    # Given the embedded filesystem broker or RabbitMQ, then there is nothing to warn about
    assert _ids(settings, "filesystem://") == []
    assert _ids(settings, "amqp://guest:guest@127.0.0.1:5672//") == []
