"""Record and publish triggered runs in batches: one sender thread per web process.

Why: recording a run (one INSERT) and publishing it (one LPUSH) costs about 3.8 ms of CPU
per run done one at a time in a web process, against 1.9 ms per run when four are done
together (one multi-row INSERT, one Redis pipeline; measured here on the 2-core machine,
see bench/README.md, trigger endpoint). The batching is natural: the sender takes every
run waiting when it becomes free, so a lone request is sent at once (no window to wait
out), and a busy process sends several per statement and pipeline.

The guarantees are those of the single path in `services.runs`: each run is recorded
before it is published, and when the publish fails every run of the batch is deleted again
and every waiting request gets the error. A request waits for its own batch, so a 202
still means "recorded and handed to the broker".
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from django.db import IntegrityError, close_old_connections, connection
from django.db.models import Field

from taskcenter import dispatch
from taskcenter.models import Run

logger = logging.getLogger(__name__)

#: Runs per INSERT and per pipeline at most.
MAX_BATCH = 64
#: Seconds a request waits for its batch before giving up (the broker's own timeouts are
#: far shorter: this only guards against a sender that stopped).
WAIT_TIMEOUT = 60.0


class SenderTimeoutError(TimeoutError):
    """The sender thread did not settle a run in time (treated as a broker failure)."""


@cache
def _insert_sql(rows: int) -> tuple[str, tuple[Field, ...]]:
    fields = tuple(Run._meta.concrete_fields)
    q = connection.ops.quote_name
    columns = ", ".join(q(f.column) for f in fields)
    values = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"INSERT INTO {q(Run._meta.db_table)} ({columns}) VALUES " + ", ".join([values] * rows)
    return sql, fields


def insert_runs(runs: Sequence[Run]) -> None:
    """Insert new runs in one statement: the rows `save(force_insert=True)` would write.

    Each field's value goes through the same `pre_save` and `get_db_prep_save` the ORM
    uses; what is skipped is the per-save machinery (model signals, which Run has none of,
    and the query compiler), about half a millisecond of CPU per run.
    """
    sql, fields = _insert_sql(len(runs))
    values = [
        field.get_db_prep_save(field.pre_save(run, True), connection)
        for run in runs
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
    for run in runs:
        run._state.adding = False
        run._state.db = connection.alias


def record_and_submit(runs: Sequence[Run], submissions: Sequence[dispatch.Submission]) -> None:
    """Record `runs`, publish their submissions; on a failed publish delete them and raise."""
    insert_runs(runs)
    try:
        dispatch.submit_many(submissions)
    except BaseException:
        # Not sent (as far as this process can tell): take the records back.
        Run.objects.filter(id__in=[run.id for run in runs]).delete()
        raise


@dataclass
class _Pending:
    run: Run
    submission: dispatch.Submission
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class RunSender:
    """A queue of runs to record and publish, drained by one daemon thread per process."""

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        #: Batches and runs handled so far in this process (what the batching achieved).
        self.batches = 0
        self.runs = 0

    def send(self, run: Run, submission: dispatch.Submission) -> None:
        """Record and publish one run with whatever else is waiting; raise what they raised."""
        item = _Pending(run, submission)
        self._ensure_thread()
        self._queue.put(item)
        if not item.done.wait(WAIT_TIMEOUT):
            raise SenderTimeoutError("the run sender did not answer in time")
        if item.error is not None:
            raise item.error

    def _ensure_thread(self) -> None:
        # Started on first use, and again in a forked child (a thread does not survive
        # fork): gunicorn workers each get their own.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()  # what the parent held is not ours
                self._pid = os.getpid()
            elif self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(
                target=self._run, name="taskcenter-run-sender", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._send(batch)
            except Exception:  # the loop must outlive any one batch
                logger.exception("run sender: a batch failed outside its own handling")

    def _send(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.runs += len(batch)
        # Like a request: Django's connection checks before and after the work.
        close_old_connections()
        try:
            try:
                record_and_submit([p.run for p in batch], [p.submission for p in batch])
            except IntegrityError:
                if len(batch) == 1:
                    raise
                # One row the database refused (its user just deleted, say) must not fail
                # the others: each goes again on its own.
                for pending in batch:
                    self._send_one(pending)
        except BaseException as exc:  # every waiting request gets the error
            for pending in batch:
                if not pending.done.is_set():
                    pending.error = exc
        finally:
            for pending in batch:
                pending.done.set()
            close_old_connections()

    def _send_one(self, pending: _Pending) -> None:
        try:
            record_and_submit([pending.run], [pending.submission])
        except IntegrityError as exc:
            pending.error = exc
        pending.done.set()


_sender = RunSender()


def run_sender() -> RunSender:
    """The process's sender."""
    return _sender
