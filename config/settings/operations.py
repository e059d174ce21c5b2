"""Monitoring, alerts, the jobs' own settings, mail and logging."""

from config.settings.base import VAR_DIR, env

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
