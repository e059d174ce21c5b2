"""Celery: the broker (RabbitMQ, Redis or the embedded filesystem), results, delivery, queues."""

from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.settings.base import TASKCENTER_FAST_RESULTS, TIME_ZONE, VAR_DIR, env

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
_amqp_socket_timeout = env.float("AMQP_SOCKET_TIMEOUT", default=2.0)

if _amqp:
    CELERY_BROKER_URL = BROKER_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # The broker confirms each publish: a 202 means RabbitMQ has the message.
        "confirm_publish": True,
        # Every blocking read and write on the socket gives up after this long, so a
        # confirm (or a channel close) the broker never answers fails the publish in a
        # bounded time (a 503) instead of holding the request for a minute or more.
        # Consuming is not affected: the worker reads only what its event loop saw arrive.
        "read_timeout": _amqp_socket_timeout,
        "write_timeout": _amqp_socket_timeout,
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
