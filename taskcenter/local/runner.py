"""One `run_apscheduler` process: stand by or lead, fire jobs, record runs, obey the admin.

Four loops share the asyncio loop with APScheduler: the lease (renewed on its own thread,
so a slow database never delays it), the control poll (the admin's pause, resume, run
now and trigger override, applied within TASKCENTER_LOCAL_CONTROL_INTERVAL), the
recorder's flush and the heartbeat (each on the database thread). A standby keeps the
scheduler paused with no jobs; on taking the lease it registers every job afresh from
now, so a slot the old leader ran is never run again. SIGTERM: no new runs, running ones
get TASKCENTER_LOCAL_SHUTDOWN_TIMEOUT to finish, they are recorded, the lease released.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from taskcenter.catalog import Runtime, all_jobs
from taskcenter.local.control import Control, State, states_read
from taskcenter.local.leader import local_lease, process_name, renew_interval
from taskcenter.local.recorder import EVENT_MASK, Recorder
from taskcenter.local.scheduler import LocalScheduler, Running
from taskcenter.services.local_jobs import local_heartbeat_write, local_job_run_now_clear

logger = logging.getLogger(__name__)

#: Seconds a thread may hold the GIL while another waits (Python's default: 0.005).
#: 0.5 ms keeps a job's start within about that of its time while runs are written.
GIL_SWITCH_INTERVAL = 0.0005


class LocalRunner:
    """The local scheduler of one process, with its lease, recorder and control."""

    def __init__(self, *, names: list[str] | None = None) -> None:
        self.lease = local_lease()
        self.ident = f"apscheduler:{socket.gethostname()}:{os.getpid()}"
        self.running = Running()
        self.scheduler = LocalScheduler(gate=self.lease.held, running=self.running)
        self.jobs = [j for j in all_jobs(Runtime.LOCAL) if names is None or j.name in names]
        self.names = [job.name for job in self.jobs]
        self.recorder = Recorder(
            process=process_name(), max_buffer=settings.TASKCENTER_LOCAL_RECORD_BUFFER
        )
        self.control = Control(self.scheduler, self.jobs, self.recorder.run_now_ids)
        self.states: dict[str, State] = {}
        self._marker: tuple | None = None
        self.leading = False
        self.started_at = timezone.now()
        self._db = ThreadPoolExecutor(1, thread_name_prefix="local-db")
        self._lease_thread = ThreadPoolExecutor(1, thread_name_prefix="local-lease")
        self._beat_now = asyncio.Event()
        self._db_ok = True

    async def _on_db(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `func` on the database thread; None (logged once per outage) when it fails."""

        def call() -> Any:
            try:
                return func(*args, **kwargs)
            finally:
                close_old_connections()

        try:
            result = await asyncio.get_running_loop().run_in_executor(self._db, call)
        except Exception:
            if self._db_ok:
                logger.warning(
                    "local scheduler %s: database unavailable", self.ident, exc_info=True
                )
            self._db_ok = False
            return None
        if not self._db_ok:
            logger.info("local scheduler %s: database back", self.ident)
        self._db_ok = True
        return result

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then shut down cleanly."""
        self.scheduler.aps.add_listener(self.recorder.listen, EVENT_MASK)
        self.scheduler.start(paused=True)
        # Everything loaded so far (Django, the catalog, the jobs) lives for the whole
        # process: frozen, a full collection no longer walks it, which otherwise stalls
        # the loop for tens of milliseconds when recording many runs a second.
        gc.freeze()
        # The database thread (recording, heartbeats) shares the GIL with the loop; a
        # shorter switch interval bounds how long a due job waits for it.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        logger.info(
            "local scheduler %s: started with %d job(s), standing by until it holds the lease",
            self.ident,
            len(self.jobs),
        )
        loops = [
            asyncio.create_task(self._forever(loop))
            for loop in (self._lease_loop, self._control_loop, self._flush_loop, self._heartbeats)
        ]
        try:
            await stop.wait()
            await self._shutdown()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            self.scheduler.shutdown(wait=False)
            self._db.shutdown(wait=False)
            self._lease_thread.shutdown(wait=False)

    async def _forever(self, loop: Callable[[], Any]) -> None:
        """Run one of the loops; an unexpected error is logged and the loop started again."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("local scheduler %s: %s failed; restarting it", self.ident, loop)
                await asyncio.sleep(1)

    async def _lease_loop(self) -> None:
        loop = asyncio.get_running_loop()
        renew = renew_interval(self.lease.ttl)
        told_holder = False
        while True:
            ok = await loop.run_in_executor(self._lease_thread, self.lease.refresh)
            if ok and not self.leading:
                await self._lead()
            elif not ok and self.leading:
                self._stand_by("lost the leader lease")
            elif not ok and not told_holder:
                holder = await loop.run_in_executor(self._lease_thread, self._holder)
                logger.info("local scheduler %s: standing by (leader %s)", self.ident, holder)
                told_holder = True
            # A standby asks often, so it takes over within a quarter second of expiry.
            await asyncio.sleep(renew if self.leading else min(0.25, renew))

    def _holder(self) -> str | None:
        try:
            return self.lease.holder()
        except Exception:
            return None

    async def _lead(self) -> None:
        try:
            read = await asyncio.wait_for(self._on_db(states_read, self.names), timeout=2)
        except TimeoutError:
            read = None
        if read is not None:
            self._marker, self.states = read
        self.control.load(self.states)
        gc.freeze()  # the jobs just registered live as long as the lead
        self.scheduler.aps.resume()
        self.leading = True
        logger.info(
            "local scheduler %s: leading (lease ttl %ss) with %d job(s)",
            self.ident,
            self.lease.ttl,
            len(self.jobs),
        )
        self._beat_now.set()

    def _stand_by(self, reason: str) -> None:
        self.leading = False
        self.scheduler.aps.pause()
        self.scheduler.aps.remove_all_jobs()
        logger.warning("local scheduler %s: standing by (%s)", self.ident, reason)
        self._beat_now.set()

    async def _control_loop(self) -> None:
        interval = float(settings.TASKCENTER_LOCAL_CONTROL_INTERVAL)
        while True:
            await asyncio.sleep(interval)
            if not self.leading:
                continue
            read = await self._on_db(states_read, self.names, self._marker)
            if read is None or read[1] is None or not self.leading:
                continue
            self._marker, states = read
            self.states = states
            for name, requested_at in self.control.apply(states):
                await self._on_db(local_job_run_now_clear, job=name, requested_at=requested_at)

    async def _flush_loop(self) -> None:
        interval = float(settings.TASKCENTER_LOCAL_RECORD_INTERVAL)
        while True:
            await asyncio.sleep(interval)
            if self.recorder.pending():
                await self._on_db(self.recorder.flush)

    def _details(self) -> dict[str, Any]:
        jobs = {}
        for job in self.scheduler.get_jobs():
            if job.id in self.names:
                when = job.next_run_time
                jobs[job.id] = when.isoformat() if when else None
        return {
            "next_run_times": jobs,
            "running": sorted({name for name, _ in self.running.jobs()}),
            "buffered_runs": self.recorder.pending(),
        }

    async def _write_heartbeat(self) -> None:
        await self._on_db(
            local_heartbeat_write,
            ident=self.ident,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            started_at=self.started_at,
            is_leader=self.leading,
            details=self._details(),
        )

    async def _heartbeats(self) -> None:
        interval = float(settings.TASKCENTER_LOCAL_HEARTBEAT_INTERVAL)
        while True:
            self._beat_now.clear()
            await self._write_heartbeat()
            try:
                await asyncio.wait_for(self._beat_now.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        timeout = float(settings.TASKCENTER_LOCAL_SHUTDOWN_TIMEOUT)
        self.scheduler.aps.pause()
        logger.info(
            "local scheduler %s: stopping; no new runs, up to %ss for %d running",
            self.ident,
            timeout,
            len(self.running.jobs()),
        )
        deadline = loop.time() + timeout
        while self._busy() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for name, started in self.running.jobs():
            logger.warning("local scheduler %s: %s still running at exit", self.ident, name)
            self.recorder.add_interrupted(job=name, started=started)
        try:
            await asyncio.wait_for(self._on_db(self.recorder.flush), timeout=10)
        except TimeoutError:
            pass
        if self.recorder.pending():
            logger.warning(
                "local scheduler %s: %d run(s) unrecorded", self.ident, self.recorder.pending()
            )
        await loop.run_in_executor(self._lease_thread, self.lease.release)
        self.leading = False
        logger.info("local scheduler %s: released the leader lease", self.ident)
        try:
            await asyncio.wait_for(self._write_heartbeat(), timeout=5)
        except TimeoutError:
            pass

    def _busy(self) -> bool:
        """True while a job runs or its outcome event has not been dispatched yet."""
        if self.running.jobs():
            return True
        # AsyncIOExecutor keeps the futures whose done-callback (which dispatches the
        # outcome event) has not run; an empty set means every outcome reached the recorder.
        executor = self.scheduler.aps._lookup_executor("default")
        return bool(getattr(executor, "_pending_futures", ()))
