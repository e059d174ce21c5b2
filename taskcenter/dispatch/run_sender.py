"""Record and publish triggered runs in batches, sent by the waiting requests themselves.

Why: recording a run (one INSERT) and publishing it (one LPUSH) costs less than half the
CPU per run when several go together (one multi-row INSERT, one Redis round trip; figures
in bench/README.md, trigger endpoint). The batching is natural: whoever sends takes every
run waiting, so a lone request is sent at once (no window to wait out), and a busy process
sends several per statement and pipeline. `TASKCENTER_RUN_BATCHING=false` sends each run
on its own.

The guarantees are those of the single path in `services.runs`: each run is recorded
before it is published, and when the publish fails every run of the batch is deleted again
and every waiting request gets the error. A request waits for its own batch, so a 202
still means "recorded and handed to the broker".
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from django.db import IntegrityError, connection
from django.db.models import Field

from taskcenter import dispatch
from taskcenter.models import Run

#: Runs per INSERT and per pipeline at most.
MAX_BATCH = 64
#: Seconds a request waits for its batch before giving up (the broker's own timeouts are
#: far shorter: this only guards against a sender that stopped).
WAIT_TIMEOUT = 60.0


class SenderTimeoutError(TimeoutError):
    """The run waited too long for a request to send it (treated as a broker failure)."""


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


@dataclass(eq=False)
class _Pending:
    run: Run
    submission: dispatch.Submission
    #: Set when the run is settled (`error` tells how), or when this request is to lead.
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    lead: bool = False
    error: BaseException | None = None


class RunSender:
    """Runs waiting to be recorded and published, sent in batches by the requests themselves.

    Flat combining: a request that finds nobody sending leads. It takes every run waiting
    (its own first), sends them as one batch on its own database connection, and hands the
    lead to the oldest run still waiting, whose request wakes up and does the same. No
    thread of our own, so a lone request sends its run itself with no hand-off to a
    sender thread and back, and a busy process still sends several runs per statement and
    round trip.
    """

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: deque[_Pending] = deque()
        self._sending = False
        #: Batches and runs sent so far in this process (what the batching achieved).
        self.batches = 0
        self.runs = 0

    def send(self, run: Run, submission: dispatch.Submission) -> None:
        """Record and publish one run with whatever else is waiting; raise what they raised."""
        item = _Pending(run, submission)
        with self._lock:
            self._waiting.append(item)
            if not self._sending:
                self._sending = item.lead = True
        if not item.lead and not item.wake.wait(WAIT_TIMEOUT):
            with self._lock:
                if item in self._waiting:  # never taken: give up, nothing was sent
                    self._waiting.remove(item)
                    raise SenderTimeoutError("no request sent this run in time")
            item.wake.wait()  # taken into a batch just now, or handed the lead
        if item.lead:
            self._lead()
        if item.error is not None:
            raise item.error

    def _lead(self) -> None:
        with self._lock:
            take = min(len(self._waiting), self.max_batch)
            batch = [self._waiting.popleft() for _ in range(take)]
        try:
            self._send(batch)
        finally:
            with self._lock:
                if self._waiting:
                    following = self._waiting[0]
                    following.lead = True
                    following.wake.set()
                else:
                    self._sending = False

    def _send(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.runs += len(batch)
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
            # An interrupt of the leading request (its worker stopping) is its own; the
            # others answer as if the broker had not taken their runs.
            shared = exc if isinstance(exc, Exception) else SenderTimeoutError(str(exc))
            for pending in batch:
                if not pending.done:
                    pending.error = shared
            if shared is not exc:
                raise
        finally:
            for pending in batch:
                self._settle(pending)

    def _send_one(self, pending: _Pending) -> None:
        try:
            record_and_submit([pending.run], [pending.submission])
        except IntegrityError as exc:
            pending.error = exc
        self._settle(pending)

    @staticmethod
    def _settle(pending: _Pending) -> None:
        if not pending.done:
            pending.done = True
            pending.lead = False
            pending.wake.set()


_sender = RunSender()


def run_sender() -> RunSender:
    """The process's sender."""
    return _sender
