"""A test-owned MariaDB server (own datadir, free port) that a test may stop and restart.

Never the machine's server: that one is shared by everyone and must keep running.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import MySQLdb
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateMariaDB:
    """One mariadbd on 127.0.0.1:`port` with its data in `folder`."""

    def __init__(self, folder: Path) -> None:
        if not shutil.which("mariadbd") or not shutil.which("mariadb-install-db"):
            pytest.skip("mariadbd and mariadb-install-db are needed for a private server")
        self.folder = folder
        self.datadir = folder / "data"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.folder / 'mysqld.sock'}",
                f"--pid-file={self.folder / 'mysqld.pid'}",
                "--user=root",
                "--skip-log-bin",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.connect().close()
                return
            except MySQLdb.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the private mariadbd did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def connect(self, db: str | None = None) -> MySQLdb.Connection:
        kwargs = {"db": db} if db else {}
        return MySQLdb.connect(
            host="127.0.0.1", port=self.port, user="root", passwd="", connect_timeout=2, **kwargs
        )

    def load_schema_of(self, *, source_db: str, host: str, port: int, target_db: str) -> None:
        """Create `target_db` with the tables (no rows, no triggers) of the test database."""
        conn = self.connect()
        conn.cursor().execute(f"CREATE DATABASE `{target_db}` CHARACTER SET utf8mb4")
        conn.close()
        dump = subprocess.run(
            [
                "mariadb-dump",
                "--no-data",
                "--skip-triggers",
                f"-h{host}",
                f"-P{port}",
                "-uroot",
                source_db,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            ["mariadb", "-h127.0.0.1", f"-P{self.port}", "-uroot", target_db],
            input=dump.stdout,
            check=True,
            capture_output=True,
            timeout=60,
        )
