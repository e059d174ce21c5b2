"""The beat engine, the local scheduler (APScheduler) and the AnyIO runtime."""

from config.settings.base import TIME_ZONE, env

# --- Beat engine (taskcenter.beat) ----------------------------------------------------

CELERY_BEAT_SCHEDULER = "taskcenter.beat.scheduler:TaskcenterScheduler"
# A standby takes over at most this long after the leader dies; the leader renews every
# ttl/4 (at most 1 s) and trusts its lease for 80% of it, so 15 s survives a few slow renewals.
TASKCENTER_BEAT_LEASE_TTL = env.float("TASKCENTER_BEAT_LEASE_TTL", default=15.0)
TASKCENTER_BEAT_LEASE_KEY = env("TASKCENTER_BEAT_LEASE_KEY", default="taskcenter:beat:leader")
# How often the leader reads the schedule change feed: half the 2 s pickup budget.
TASKCENTER_BEAT_POLL_INTERVAL = env.float("TASKCENTER_BEAT_POLL_INTERVAL", default=0.5)
# A slot dispatched later than this after its due time counts as missed (catch-up policy).
TASKCENTER_BEAT_MISSED_GRACE = env.float("TASKCENTER_BEAT_MISSED_GRACE", default=10.0)
# Whether beat also publishes Celery's "task-sent" event per dispatch (a second message;
# beat stores every dispatched slot itself). Off: a third less beat CPU at scale.
TASKCENTER_BEAT_SENT_EVENTS = env.bool("TASKCENTER_BEAT_SENT_EVENTS", default=False)

# --- Local scheduler (APScheduler) ----------------------------------------------------

APSCHEDULER = {
    "timezone": TIME_ZONE,
    "max_instances": env.int("APSCHEDULER_MAX_INSTANCES", default=1),
    "jitter": env.int("APSCHEDULER_JITTER", default=0),
    "coalesce": env.bool("APSCHEDULER_COALESCE", default=True),
    "misfire_grace_time": env.int("APSCHEDULER_MISFIRE_GRACE_TIME", default=60),
}
# Any number of `run_apscheduler` may run; the holder of this lease (Redis, or the database
# on the embedded default, as beat's) fires the jobs. A standby takes over at most the TTL
# after the leader dies; the leader renews every ttl/4 (at most 1 s).
TASKCENTER_LOCAL_LEASE_TTL = env.float("TASKCENTER_LOCAL_LEASE_TTL", default=20.0)
TASKCENTER_LOCAL_LEASE_KEY = env(
    "TASKCENTER_LOCAL_LEASE_KEY", default="taskcenter:apscheduler:leader"
)
# How often the leader reads the admin's pause / resume / run now / trigger override:
# a quarter of the 2 s budget, so a slow read still lands in time.
TASKCENTER_LOCAL_CONTROL_INTERVAL = env.float("TASKCENTER_LOCAL_CONTROL_INTERVAL", default=0.5)
# Finished runs are buffered and written in one INSERT this often (and kept in memory
# while the database is away, up to TASKCENTER_LOCAL_RECORD_BUFFER rows).
TASKCENTER_LOCAL_RECORD_INTERVAL = env.float("TASKCENTER_LOCAL_RECORD_INTERVAL", default=1.0)
TASKCENTER_LOCAL_RECORD_BUFFER = env.int("TASKCENTER_LOCAL_RECORD_BUFFER", default=100_000)
# On SIGTERM the leader waits this long for running jobs before it exits.
TASKCENTER_LOCAL_SHUTDOWN_TIMEOUT = env.float("TASKCENTER_LOCAL_SHUTDOWN_TIMEOUT", default=30.0)
# How often each run_apscheduler writes its heartbeat row (role, leader or not, next runs).
TASKCENTER_LOCAL_HEARTBEAT_INTERVAL = env.float("TASKCENTER_LOCAL_HEARTBEAT_INTERVAL", default=5.0)
# Local job runs older than this are deleted nightly, in batches.
LOCAL_RUNS_RETENTION_DAYS = env.int("LOCAL_RUNS_RETENTION_DAYS", default=30)

# --- AnyIO runtime (one manager per web process) ---------------------------------------

AIO_MANAGER = {
    # Runner tasks at once: small I/O jobs next to the requests the process serves.
    "max_concurrency": env.int("AIO_MAX_CONCURRENCY", default=16),
    "thread_capacity": env.int("AIO_THREAD_CAPACITY", default=8),
    "process_capacity": env.int("AIO_PROCESS_CAPACITY", default=2),
    # Pending plus running; beyond it a trigger answers 503 instead of queueing.
    "max_queue": env.int("AIO_MAX_QUEUE", default=1000),
    "default_timeout": env.float("AIO_DEFAULT_TIMEOUT", default=300.0),
    "keep_finished": env.int("AIO_KEEP_FINISHED", default=1000),
}
#: Seconds a stopping web process waits for its AnyIO runs before cancelling them; below
#: gunicorn's graceful_timeout (10 s), so the drain ends before the master kills a worker.
AIO_DRAIN_TIMEOUT = env.float("AIO_DRAIN_TIMEOUT", default=5.0)
#: Seconds between a web process's looks for revokes of its running AnyIO runs asked
#: through another process (one indexed query, only while runs are going).
AIO_REVOKE_POLL_INTERVAL = env.float("AIO_REVOKE_POLL_INTERVAL", default=1.0)
