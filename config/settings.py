"""Settings for taskcenter, read from the environment (and an optional `.env`).

One module for every environment: what differs between a laptop and production is
the environment, never the code. With no `DATABASE_URL` and no `REDIS_URL` the task
center runs on an embedded default (SQLite and kombu's filesystem transport under
`var/`), so a fresh clone starts without any service.
"""

from pathlib import Path
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env("TASKCENTER_VAR_DIR", default="") or BASE_DIR / "var")

# --- Core -----------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    # No secret in the code: an unset key falls back to one generated on first start and
    # kept under var/, so sessions survive restarts of a local run. Production sets it.
    from taskcenter.secrets import local_secret_key

    SECRET_KEY = local_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_TZ = True
USE_I18N = True
# The interface speaks English and Simplified Chinese; a browser's Accept-Language picks
# one (LocaleMiddleware), LANGUAGE_CODE is the language when it asks for neither.
LANGUAGE_CODE = env("LANGUAGE_CODE", default="en-us")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "taskcenter" / "locale"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_celery_results",
    "ninja",
    "taskcenter",
    "jobs",
]

MIDDLEWARE = [
    "taskcenter.middleware.ApiJsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "taskcenter.middleware.BodyGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- API ------------------------------------------------------------------------------

# Bodies above this are refused (413 from the API); job arguments never need more.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
# Per-user trigger limit: at most API_TRIGGER_RATE_LIMIT triggers (runs, workflows,
# requeues) per API_TRIGGER_RATE_WINDOW seconds; 0 turns the limit off.
API_TRIGGER_RATE_LIMIT = env.int("API_TRIGGER_RATE_LIMIT", default=600)
API_TRIGGER_RATE_WINDOW = env.int("API_TRIGGER_RATE_WINDOW", default=60)

# --- Fast paths -----------------------------------------------------------------------

# Each of these replaces a library's own code on a hot path (figures: bench/README.md).
# TASKCENTER_FAST_PATHS=false turns every one back to the library's stock behaviour, and
# each has its own variable; CI runs the whole suite both ways.
TASKCENTER_FAST_PATHS = env.bool("TASKCENTER_FAST_PATHS", default=True)


def _fast(name: str) -> bool:
    """Return switch `name`: its own value when set (non-empty), else TASKCENTER_FAST_PATHS."""
    return env.bool(name) if env(name, default="") else TASKCENTER_FAST_PATHS


# Token and trigger-permission checks as one written-out statement instead of the ORM and
# Django's ModelBackend (the same answers, read on every request either way).
TASKCENTER_FAST_AUTH = _fast("TASKCENTER_FAST_AUTH")
# Triggered runs written to Redis as `apply_async`'s own message, one round trip a batch.
TASKCENTER_FAST_PUBLISH = _fast("TASKCENTER_FAST_PUBLISH")
# Concurrent API triggers in one web process share one INSERT and one broker round trip.
TASKCENTER_RUN_BATCHING = _fast("TASKCENTER_RUN_BATCHING")
# Results stored with one upsert per state (taskcenter.results.backend) instead of
# django-celery-results' get_or_create; CELERY_RESULT_BACKEND overrides either.
TASKCENTER_FAST_RESULTS = _fast("TASKCENTER_FAST_RESULTS")
# With the upsert backend, STARTED is stored only for a run still going after this many
# seconds (a shorter run goes from PENDING to its final state); 0 stores it at once.
TASKCENTER_RESULT_STARTED_DELAY = float(
    env("TASKCENTER_RESULT_STARTED_DELAY", default="") or (0.25 if TASKCENTER_FAST_PATHS else 0)
)

# --- Database -------------------------------------------------------------------------

if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "taskcenter.sqlite3",
            # Web, worker, beat and the local scheduler share one file: WAL lets readers
            # run beside the writer, the timeout and IMMEDIATE transactions stop writers
            # from failing with "database is locked" under contention.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
            "TEST": {"NAME": VAR_DIR / "test_taskcenter.sqlite3"},
        }
    }

_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.mysql":
    _db.setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            "isolation_level": "read committed",
            # A database that went away fails a connect in seconds, not minutes.
            "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=5),
        }
    )
    _db.setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})
    # Below MySQL's default wait_timeout (28800 s) and any sane proxy idle timeout, so a
    # pooled connection is never one the server has already dropped.
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=300)
    _db["CONN_HEALTH_CHECKS"] = True
if env("DATABASE_TEST_NAME", default=""):
    _db.setdefault("TEST", {})["NAME"] = env("DATABASE_TEST_NAME")

# --- Celery ---------------------------------------------------------------------------


def _redis_url() -> str:
    """Return REDIS_URL, or compose it from REDIS_HOST/PORT/DB/PASSWORD."""
    if url := env("REDIS_URL", default=""):
        return url
    host = env("REDIS_HOST", default="")
    if not host:
        return ""
    password = env("REDIS_PASSWORD", default="")
    auth = f":{quote(password, safe='')}@" if password else ""
    port, db = env.int("REDIS_PORT", default=6379), env.int("REDIS_DB", default=0)
    return f"redis://{auth}{host}:{port}/{db}"


REDIS_URL = _redis_url()
# Longest a task may run (hard limit). Redis redelivers an unacked message after the
# visibility timeout, so that timeout must sit above every time limit; it is also how soon
# the run of a lost worker reappears, so it sits just above (five minutes by default).
# A countdown or ETA is refused beyond what it leaves (the timeout minus the time limit).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
_visibility_timeout = env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 5 * 60)
# Longest countdown or ETA a trigger may ask for: a message waiting for its time is held
# unacknowledged, and one held past the visibility timeout would be delivered twice.
TASKCENTER_MAX_COUNTDOWN = env.int(
    "TASKCENTER_MAX_COUNTDOWN", default=max(0, _visibility_timeout - CELERY_TASK_TIME_LIMIT)
)
# Seconds between a worker's sweeps for messages whose worker was lost (Redis).
_restore_interval = env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10)
# An idempotent job delivered more often than this (its worker lost each time) fails and
# is dead-lettered instead of running again (taskcenter.dispatch.task_base).
TASKCENTER_MAX_DELIVERIES = env.int("TASKCENTER_MAX_DELIVERIES", default=3)

# A broker message larger than this is refused unrun (bytes of its encoded body).
TASKCENTER_MAX_MESSAGE_BYTES = env.int("TASKCENTER_MAX_MESSAGE_BYTES", default=4 * 1024 * 1024)
# The worker's consumer records a message whose body it could not decode.
CELERY_WORKER_CONSUMER = "taskcenter.dispatch.consumer:Consumer"

# The broker: BROKER_URL (amqp:// for RabbitMQ) when set, else REDIS_URL, else the embedded
# filesystem broker. Redis stays the beat lease and rate-limit store either way.
BROKER_URL = env("BROKER_URL", default="")
_amqp = BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://"))

if _amqp:
    CELERY_BROKER_URL = BROKER_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # The broker confirms each publish: a 202 means RabbitMQ has the message.
        "confirm_publish": True,
        "confirm_timeout": 5,
        "connect_timeout": 5,
        "socket_keepalive": True,
    }
elif BROKER_URL:
    raise ImproperlyConfigured("BROKER_URL must be an amqp:// URL (or unset for REDIS_URL)")
elif REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # kombu's Redis transport, refusing (and recording) messages no process here sent.
    CELERY_BROKER_TRANSPORT = "taskcenter.dispatch.redis_transport:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility_timeout,
        # Sweep every interval (not every tenth one), so a lost run reappears at most
        # visibility timeout + interval after its worker died.
        "unacked_restore_interval": _restore_interval,
        "unacked_restore_throttle": 1,
        # A silently dead TCP peer must not hang a worker forever.
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "health_check_interval": 30,
        # No retry_on_timeout: kombu then stops batching publishes (a retried pipeline could
        # write its messages twice).
    }
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }

# Fail fast on a dead broker when enqueueing from a web request (bounded, not 3 x 1 s+).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers and beat reconnect to a broker that went away for as long as it takes.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_HEARTBEAT = env.int("CELERY_BROKER_HEARTBEAT", default=30)
# A result the database refused (MySQL restarting) is stored again with backoff for about
# CELERY_RESULT_BACKEND_MAX_RETRIES x 10 s before the worker gives up on it.
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_RETRIES = env.int("CELERY_RESULT_BACKEND_MAX_RETRIES", default=30)
CELERY_RESULT_BACKEND_BASE_SLEEP_BETWEEN_RETRIES_MS = 200
CELERY_RESULT_BACKEND_MAX_SLEEP_BETWEEN_RETRIES_MS = 10_000
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="") or (
    "taskcenter.results.backend.UpsertDatabaseBackend"
    if TASKCENTER_FAST_RESULTS
    else "taskcenter.results.backend.ReconnectingDatabaseBackend"
)
CELERY_CACHE_BACKEND = "django-cache"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=7 * 24 * 3600)
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_WORKER_SEND_TASK_EVENTS = True
# Workers send task events (received, started, succeeded...), which is what Flower shows.
# The extra "task-sent" event is a second publish on every enqueue (the trigger endpoint's
# and beat's hot path), so it is opt-in.
CELERY_TASK_SEND_SENT_EVENT = env.bool("CELERY_TASK_SEND_SENT_EVENT", default=False)
# At-most-once unless a job is declared idempotent (`@celery_job(idempotent=True)` sets
# both per job): acknowledged as it starts, so a lost worker fails it instead of running it
# twice.
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)
CELERY_WORKER_POOL = env("CELERY_WORKER_POOL", default="prefork")
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
# Revokes live in worker memory; the state file keeps them across a worker restart (and
# every worker also checks the run record, taskcenter.dispatch.worker_hooks.on_received).
# `%n` is the node name, so two workers on one host do not share a file.
CELERY_WORKER_STATE_DB = env("CELERY_WORKER_STATE_DB", default="") or str(
    VAR_DIR / "worker-%n.state"
)
# Keep Django's DB connection across tasks (Celery's fixup otherwise closes it per task).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)

# Queues: `default` takes every job that names none. A job's queue is declared once, in
# its `@celery_job(queue=...)` (Celery applies a task's own `queue` option as a route).
CELERY_TASK_DEFAULT_QUEUE = "default"
# On RabbitMQ the queues are durable quorum queues: replicated, and a message whose
# consumer is lost goes back at once (no visibility timeout).
_queue_arguments = {"x-queue-type": "quorum"} if _amqp else None
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name, durable=True, queue_arguments=_queue_arguments)
    for name in ("default", "reports", "email")
]
if _amqp:
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
CELERY_WORKER_QUEUES = env.list(
    "CELERY_WORKER_QUEUES", default=[q.name for q in CELERY_TASK_QUEUES]
)

DJANGO_CELERY_BEAT_TZ_AWARE = True

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
# --- Monitoring (health probes, heartbeats, /metrics) --------------------------------

# Longest /readyz waits for each dependency (database, broker): a hung server answers 503
# in about this long instead of after the socket default.
TASKCENTER_PROBE_TIMEOUT = env.float("TASKCENTER_PROBE_TIMEOUT", default=1.0)
# /readyz also needs at least one worker with a fresh heartbeat.
TASKCENTER_READYZ_REQUIRE_WORKER = env.bool("TASKCENTER_READYZ_REQUIRE_WORKER", default=False)
# Workers write their heartbeat row this often (seconds).
TASKCENTER_HEARTBEAT_INTERVAL = env.float("TASKCENTER_HEARTBEAT_INTERVAL", default=10.0)
# A process whose last heartbeat is older than this counts as offline: three missed beats.
TASKCENTER_HEARTBEAT_STALE_AFTER = env.float("TASKCENTER_HEARTBEAT_STALE_AFTER", default=30.0)
# /metrics: a bearer token that may scrape it (a staff session always may); with
# TASKCENTER_METRICS_PUBLIC=true it is open to anyone who reaches it.
TASKCENTER_METRICS_TOKEN = env("TASKCENTER_METRICS_TOKEN", default="")
TASKCENTER_METRICS_PUBLIC = env.bool("TASKCENTER_METRICS_PUBLIC", default=False)
# The trailing window /metrics reports runs over (seconds): a bounded read of the results
# table on every scrape, whatever its size.
TASKCENTER_METRICS_WINDOW = env.int("TASKCENTER_METRICS_WINDOW", default=3600)

# --- Alerts (taskcenter.alerts) -------------------------------------------------------

# One alert per cause and job per window, then one "still failing, N more" summary.
TASKCENTER_ALERT_WINDOW = env.int("TASKCENTER_ALERT_WINDOW", default=3600)
# No worker / beat leader / run_apscheduler heartbeat for this long raises an alert.
TASKCENTER_ALERT_SILENCE_AFTER = env.int("TASKCENTER_ALERT_SILENCE_AFTER", default=120)
# Which process roles must be running (a deployment without run_apscheduler drops it).
TASKCENTER_ALERT_ROLES = env.list(
    "TASKCENTER_ALERT_ROLES", default=["worker", "beat", "apscheduler"]
)
TASKCENTER_ALERT_EMAIL = env.bool("TASKCENTER_ALERT_EMAIL", default=True)
# JSON POST of every alert, signed with HMAC-SHA256 of the body under the secret
# (header X-Taskcenter-Signature: sha256=<hex>); retried with backoff in a thread.
TASKCENTER_ALERT_WEBHOOK_URL = env("TASKCENTER_ALERT_WEBHOOK_URL", default="")
TASKCENTER_ALERT_WEBHOOK_SECRET = env("TASKCENTER_ALERT_WEBHOOK_SECRET", default="")
TASKCENTER_ALERT_WEBHOOK_TIMEOUT = env.float("TASKCENTER_ALERT_WEBHOOK_TIMEOUT", default=5.0)
TASKCENTER_ALERT_WEBHOOK_RETRIES = env.int("TASKCENTER_ALERT_WEBHOOK_RETRIES", default=3)
# Recipients of alerts with no rule of their own: "Name <a@example.com>, b@example.com".
ADMINS = [(a, a) for a in env.list("ADMINS", default=[])]

# --- Jobs' own settings ---------------------------------------------------------------

REPORTS_DIR = VAR_DIR / "reports"
RESULTS_RETENTION_DAYS = env.int("RESULTS_RETENTION_DAYS", default=30)
URL_CHECK_TARGETS = env.list("URL_CHECK_TARGETS", default=[])
URL_CHECK_CAPACITY = env.int("URL_CHECK_CAPACITY", default=8)

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if not env("EMAIL_HOST", default="")
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
# Where the file-based mail backend writes (EMAIL_BACKEND=...filebased.EmailBackend).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="taskcenter@localhost")

# --- Logging --------------------------------------------------------------------------

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# "text" (readable, the default) or "json" (one object per line) for every process; each
# line names the job and run that wrote it (taskcenter/logs.py).
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "taskcenter.logs.JsonFormatter"
            if LOG_FORMAT == "json"
            else "taskcenter.logs.TextFormatter"
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
