"""The local runtime: APScheduler runs `@local_job` jobs in `manage.py run_apscheduler`.

- `runner.LocalRunner` is one process: any number may run, the holder of the leader lease
  (`leader`, the same lease kind as beat's: Redis, or the database on the embedded
  default) fires the jobs, the others stand by and take over within the lease TTL.
  SIGTERM stops new runs, waits (bounded) for running ones, records them and releases
  the lease so a standby takes over at once. Each process writes a `ProcessHeartbeat`.
- `scheduler.LocalScheduler` builds the APScheduler jobs from the catalog (trigger,
  jitter, coalesce, misfire grace, max instances); every run checks the lease first.
- `recorder.Recorder` turns APScheduler's events into `LocalJobRun` rows (success,
  failed with its scrubbed error and traceback, skipped at max instances, missed past
  the misfire grace), buffered and written in batches off the scheduler's loop.
- `control.Control` applies the admin's `LocalJobState` (pause, resume, run now, trigger
  override from `triggers`) within TASKCENTER_LOCAL_CONTROL_INTERVAL.
"""
