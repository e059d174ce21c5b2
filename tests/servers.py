"""Servers a test owns: a free port, a private redis-server and a private mariadbd.

Why: a test that stops, kills or freezes a server must never touch the machine's shared
ones (the rest of the suite and other users run on them), so it starts its own: a free
port and a directory of its own. One copy of each here serves every test that needs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import MySQLdb
import pytest
import redis

from tests.conftest import wait_for


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, started and stopped at will on one port.

    `persistent=True` keeps an append-only file fsync'd on every write (the setting README
    recommends for production), so a restart on the same folder keeps its queues; `extra`
    arguments come last and so win (e.g. `("--save", "900 1")`).
    """

    def __init__(
        self, folder: Path, *, persistent: bool = False, extra: tuple[str, ...] = ()
    ) -> None:
        if not shutil.which("redis-server"):
            pytest.fail("redis-server is needed for a private Redis (Debian: redis-server)")
        self.folder = folder
        self.persistent = persistent
        self.extra = extra
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        durability = ["--appendonly", "yes", "--appendfsync", "always"]
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            *(durability if self.persistent else ["--appendonly", "no"]),
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.folder / "redis.log"),
            *self.extra,
        ]
        self.proc = subprocess.Popen(argv, cwd=self.folder, start_new_session=True)
        wait_for(self._answers, timeout=20, what="the test's redis-server to answer")

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=2)

    def freeze(self) -> None:
        """Stop the process (SIGSTOP): it accepts connections and never answers."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """End the server with `sig` (SIGTERM: it saves first; SIGKILL: a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.send_signal(sig)
            self.proc.wait(30)
        self.proc = None


class MariaDB:
    """A mariadbd of the test's own: fresh data directory in `folder`, a free port."""

    def __init__(self, folder: Path) -> None:
        if not shutil.which("mariadbd") or not shutil.which("mariadb-install-db"):
            pytest.fail("mariadbd and mariadb-install-db are needed for a private server")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={folder / 'data'}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def url(self, db: str) -> str:
        return f"mysql://root:@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        argv = [
            "mariadbd",
            "--no-defaults",
            f"--datadir={self.folder / 'data'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.folder / 'mysqld.sock'}",
            f"--pid-file={self.folder / 'mysqld.pid'}",
            "--user=root",
            "--skip-log-bin",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
        ]
        log = (self.folder / "mariadbd.log").open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        wait_for(self._answers, timeout=60, what="the test's mariadbd to answer")

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(f"the test's mariadbd exited: see {self.folder / 'mariadbd.log'}")
        try:
            self.connect().close()
            return True
        except MySQLdb.OperationalError:
            return False

    def connect(self, db: str | None = None) -> MySQLdb.Connection:
        kwargs = {"db": db} if db else {}
        return MySQLdb.connect(
            host="127.0.0.1", port=self.port, user="root", passwd="", connect_timeout=2, **kwargs
        )

    def sql(self, statement: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["mariadb", "-uroot", "-h127.0.0.1", f"-P{self.port}", "-N", "-e", statement],
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def copy_schema(
        self, *, source_db: str, host: str, port: int, target_db: str, triggers: bool = True
    ) -> None:
        """Create `target_db` with the tables (no rows) of `source_db` on `host:port`."""
        dump = subprocess.run(
            [
                "mariadb-dump",
                "-uroot",
                f"-h{host}",
                f"-P{port}",
                "--no-data",
                *([] if triggers else ["--skip-triggers"]),
                source_db,
            ],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        self.sql(f"CREATE DATABASE `{target_db}` CHARACTER SET utf8mb4")
        subprocess.run(
            ["mariadb", "-uroot", "-h127.0.0.1", f"-P{self.port}", target_db],
            input=dump,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """End the server with `sig` (SIGTERM: a clean shutdown; SIGKILL: a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
