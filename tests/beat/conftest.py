"""Beat test helpers: real beat processes on a private lease key, messages read from Redis."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.conftest import Proc, child_env, start_beat, wait_for


@dataclass
class Sent:
    """One message beat published: schedule name, slot, kwargs, when the test saw it."""

    name: str
    slot: datetime
    kwargs: dict
    seen: float


class Outbox:
    """A queue no worker consumes: every message beat sends to it stays there to be read."""

    def __init__(self, url: str) -> None:
        self.queue = f"beat-test-{uuid.uuid4().hex[:8]}"
        self.client = redis.Redis.from_url(url)
        self.sent: list[Sent] = []

    def read(self) -> list[Sent]:
        """Move new messages from Redis into `sent` (stamped with the time read) and return all."""
        while raw := self.client.rpop(self.queue):
            message = json.loads(raw)
            body = json.loads(_b64(message["body"]))
            headers = message["headers"]
            self.sent.append(
                Sent(
                    name=headers["periodic_task_name"],
                    slot=datetime.fromisoformat(headers["taskcenter_slot"]),
                    kwargs=body[1],
                    seen=time.time(),
                )
            )
        return self.sent

    def of(self, name: str) -> list[Sent]:
        return [s for s in self.read() if s.name == name]

    def close(self) -> None:
        drop_queue(self.client, self.queue)


def drop_queue(client: redis.Redis, queue: str) -> None:
    """Delete a test queue and the exchange bindings kombu keeps for it."""
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def _b64(value: str) -> str:
    import base64

    return base64.b64decode(value).decode()


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    box = Outbox(settings.REDIS_URL)
    yield box
    box.close()


class Beats:
    """Start beat processes sharing one private lease key; stop them all at teardown."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.tmp = tmp
        self.env = {
            "TASKCENTER_BEAT_LEASE_KEY": f"test:beat:{uuid.uuid4().hex[:8]}",
            "TASKCENTER_BEAT_LEASE_TTL": "4",
            **env,
        }
        self.procs: list[Proc] = []

    def start(self, name: str, **env: str) -> Proc:
        proc = start_beat(
            self.tmp, name=f"{name}-{len(self.procs)}", env=child_env(**{**self.env, **env})
        )
        self.procs.append(proc)
        return proc

    def start_leader(self, name: str = "beat", **env: str) -> Proc:
        proc = self.start(name, **env)
        wait_for_log(proc, ": leading", timeout=40)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()


def wait_for_log(proc: Proc, text: str, *, timeout: float = 30) -> None:
    def seen() -> bool:
        if proc.popen.poll() is not None:
            pytest.fail(f"beat exited early:\n{proc.output()[-3000:]}")
        return text in proc.output()

    wait_for(seen, timeout=timeout, interval=0.1, what=f"{text!r} in {proc.log.name}")


def kill_hard(proc: Proc) -> None:
    """SIGKILL the beat: no clean shutdown, no lease release."""
    os.killpg(proc.popen.pid, signal.SIGKILL)
    proc.popen.wait()


@pytest.fixture
def beats(transactional_db, tmp_path: Path) -> Iterator[Beats]:
    group = Beats(tmp_path)
    yield group
    group.stop_all()


def every(
    seconds: int, *, name: str, queue: str, last_run_at: datetime | None = None, **fields
) -> PeriodicTask:
    """Create an interval schedule running a task nobody consumes on `queue`."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
    return PeriodicTask.objects.create(
        name=name,
        task="tests.beat.noop",
        interval=interval,
        queue=queue,
        last_run_at=last_run_at,
        **fields,
    )


def now() -> datetime:
    return datetime.now(UTC)


def ago(seconds: float) -> datetime:
    return now() - timedelta(seconds=seconds)


def assert_consecutive(sent: list[Sent], seconds: int) -> None:
    """Every slot once, none skipped: slots step by exactly `seconds`."""
    slots = [s.slot for s in sent]
    assert len(slots) == len(set(slots)), f"a slot was dispatched twice: {slots}"
    steps = {(b - a).total_seconds() for a, b in zip(slots, slots[1:], strict=False)}
    assert steps <= {float(seconds)}, f"slots not consecutive: {slots}"
