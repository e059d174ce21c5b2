"""Run every process of the task center together, as `make run` does.

Web (gunicorn's threaded workers serving Django over WSGI, config/gunicorn.py), a Celery
worker, Celery beat and the local scheduler start as child processes. Each output line
carries its process's name. When any child exits, or on Ctrl-C / SIGTERM, every child gets
SIGTERM (warm shutdown), and whatever is still alive after the grace period gets SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO

from django.conf import settings

logger = logging.getLogger(__name__)

#: Seconds a child gets to finish after SIGTERM. A Celery worker finishes its current
#: task in a warm shutdown; 20 s covers short jobs without hanging Ctrl-C for long.
GRACE_SECONDS = 20


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]


def default_processes(*, host: str, port: int) -> list[ProcessSpec]:
    """Return the four processes of the task center, started with this interpreter."""
    py = sys.executable
    queues = ",".join(settings.CELERY_WORKER_QUEUES)
    var = settings.VAR_DIR
    return [
        ProcessSpec(
            "web",
            [py, "-m", "gunicorn", "-c", "config/gunicorn.py", "--bind", f"{host}:{port}"],
        ),
        ProcessSpec(
            "worker",
            [
                py,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-l",
                "INFO",
                "-Q",
                queues,
                "-n",
                "worker@%h",
            ],
        ),
        ProcessSpec(
            "beat",
            [
                py,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "-l",
                "INFO",
                "--pidfile",
                str(var / "beat.pid"),
            ],
        ),
        ProcessSpec("apscheduler", [py, "manage.py", "run_apscheduler"]),
    ]


class Supervisor:
    """Start child processes, prefix their output, and stop them all together."""

    def __init__(self, specs: list[ProcessSpec], *, out: IO[str] | None = None) -> None:
        self.specs = specs
        self.out = out or sys.stdout
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        # A plain flag, not a threading.Event: the signal handler runs in the main thread,
        # and Event.set() there deadlocks against the Event.wait() it interrupted.
        self._stop_requested = False
        self._lock = threading.Lock()
        self._width = max(len(s.name) for s in specs)

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        prefix = f"{name:<{self._width}} | "
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            with self._lock:
                self.out.write(prefix + line + "\n")
                self.out.flush()

    def say(self, message: str) -> None:
        with self._lock:
            self.out.write(f"{'taskcenter':<{self._width}} | {message}\n")
            self.out.flush()

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for spec in self.specs:
            # A session of its own: Ctrl-C reaches only this supervisor, which then stops
            # the children in order instead of all of them racing on SIGINT.
            child = subprocess.Popen(
                spec.argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                cwd=settings.BASE_DIR,
            )
            self.children[spec.name] = child
            threading.Thread(target=self._pump, args=(spec.name, child.stdout), daemon=True).start()
            self.say(f"started {spec.name} (pid {child.pid})")

    def request_stop(self, *_: object) -> None:
        self._stop_requested = True

    def wait(self) -> int:
        """Block until a stop is requested or a child exits; then stop all. Return a code."""
        code = 0
        while not self._stop_requested:
            for name, child in self.children.items():
                if child.poll() is not None:
                    self.say(f"{name} exited with code {child.returncode}; stopping all")
                    code = child.returncode or 1
                    self._stop_requested = True
                    break
            time.sleep(0.2)
        self.stop()
        return code

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{name} did not stop in {GRACE_SECONDS}s; killing it")
                child.kill()
                child.wait()
        self.say("all processes stopped")


def run_all(*, host: str, port: int) -> int:
    """Run the whole task center until Ctrl-C or SIGTERM; return the exit code."""
    supervisor = Supervisor(default_processes(host=host, port=port))
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    supervisor.start()
    supervisor.say(f"open http://{host}:{port}/admin/")
    return supervisor.wait()
