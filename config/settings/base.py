"""Django itself, the API, the fast-path switches and the database."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

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
