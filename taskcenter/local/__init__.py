"""The local runtime: APScheduler runs `@local_job` jobs in `manage.py run_apscheduler`.

`scheduler.LocalScheduler` builds the APScheduler jobs from the catalog (trigger, jitter,
coalesce, misfire grace, max instances) and `scheduler.serve` runs them until stopped.
"""
