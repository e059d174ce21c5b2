"""A RabbitMQ node of the test's own, for the fault tests that stop the broker.

The machine's node is never stopped: a test that stops RabbitMQ starts a private node
(own node name, free AMQP and distribution ports, own data, log and cookie directory,
no plugins) and stops and starts that one. Its data directory outlives a stop, so durable
quorum queues and the messages on them are there again after the restart. A start takes
about 5-10 s here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.faults.conftest import free_port

SBIN = Path("/usr/lib/rabbitmq/bin")


class RabbitNode:
    """A private rabbitmq-server: started, SIGKILLed and started again on the same data."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.name = f"tc-{uuid.uuid4().hex[:8]}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen[bytes] | None = None
        (workdir / "plugins").write_text("[].\n")
        (workdir / "rabbitmq.conf").write_text(
            f"loopback_users = none\nlisteners.tcp.default = 127.0.0.1:{self.port}\n"
        )
        self.env = {
            **os.environ,
            # The Erlang cookie is written here, not in the home of the machine's node.
            "HOME": str(workdir),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(workdir / "log"),
            "RABBITMQ_PID_FILE": str(workdir / "node.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "plugins"),
            "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(workdir / "advanced.config"),
        }

    def start(self) -> None:
        log = (self.dir / "server.out").open("ab")
        self.proc = subprocess.Popen(
            [str(SBIN / "rabbitmq-server")],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_for(self._answers, timeout=90, interval=0.2, what="the test's RabbitMQ node")

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(f"rabbitmq-server exited: {(self.dir / 'server.out').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                pass
        except OSError:
            return False
        done = subprocess.run(
            [str(SBIN / "rabbitmqctl"), "-q", "-n", self.name, "await_startup", "--timeout", "5"],
            env=self.env,
            capture_output=True,
            timeout=30,
        )
        return done.returncode == 0

    def stop(self) -> None:
        """Stop the node cleanly (SIGTERM to its process group), as a service manager does."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(60)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the node (its whole process group): no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self.proc = None


@pytest.fixture
def own_rabbit(tmp_path: Path) -> Iterator[RabbitNode]:
    """A private RabbitMQ node for one test, killed at teardown."""
    workdir = tmp_path / "rabbit"
    workdir.mkdir()
    node = RabbitNode(workdir)
    node.start()
    yield node
    node.kill()
