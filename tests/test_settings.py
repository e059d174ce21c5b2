"""Settings are safe by default and driven by the environment."""

import json
import subprocess
import sys

from django.core.management import call_command

from taskcenter.checks import check_serializers
from taskcenter.management.commands.run_worker import build_argv
from tests.conftest import ROOT, child_env

#: The fast-path switches, cleared so a test sees the defaults whichever mode CI runs in.
FAST_SWITCHES = (
    "TASKCENTER_FAST_PATHS",
    "TASKCENTER_FAST_AUTH",
    "TASKCENTER_FAST_PUBLISH",
    "TASKCENTER_RUN_BATCHING",
    "TASKCENTER_FAST_RESULTS",
    "TASKCENTER_RESULT_STARTED_DELAY",
    "CELERY_RESULT_BACKEND",
)


def settings_in_child(code: str, **env: str | None) -> dict:
    """Evaluate `code` against config.settings in a fresh interpreter with `env`.

    The fast-path switches start unset (the defaults) unless `env` names them.
    """
    env = {**dict.fromkeys(FAST_SWITCHES), **env}
    program = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({code}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_debug_is_off_and_only_json_is_accepted_by_default(tmp_path):
    seen = settings_in_child(
        "{'debug': settings.DEBUG, 'accept': settings.CELERY_ACCEPT_CONTENT, "
        "'task': settings.CELERY_TASK_SERIALIZER, 'result': settings.CELERY_RESULT_SERIALIZER, "
        "'hosts': settings.ALLOWED_HOSTS}",
        DEBUG=None,
        TASKCENTER_VAR_DIR=str(tmp_path),
    )

    assert seen == {
        "debug": False,
        "accept": ["json"],
        "task": "json",
        "result": "json",
        "hosts": ["localhost", "127.0.0.1", "[::1]"],
    }


def test_without_database_and_redis_urls_the_embedded_default_is_used(tmp_path):
    seen = settings_in_child(
        "{'engine': settings.DATABASES['default']['ENGINE'], 'broker': settings.CELERY_BROKER_URL, "
        "'results': settings.CELERY_RESULT_BACKEND, 'key': bool(settings.SECRET_KEY)}",
        DATABASE_URL=None,
        REDIS_URL=None,
        REDIS_HOST=None,
        SECRET_KEY=None,
        TASKCENTER_VAR_DIR=str(tmp_path),
    )

    assert seen == {
        "engine": "django.db.backends.sqlite3",
        "broker": "filesystem://",
        "results": "taskcenter.results.backend.UpsertDatabaseBackend",
        "key": True,
    }
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_processes_starting_at_once_without_a_key_all_get_the_same_whole_key(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    from taskcenter.secrets import local_secret_key

    path = tmp_path / "var" / "secret_key"
    with ProcessPoolExecutor(4) as pool:
        keys = set(pool.map(local_secret_key, [path] * 16))

    assert len(keys) == 1
    assert len(keys.pop()) >= 50
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary left


def test_redis_url_is_composed_from_its_parts(tmp_path):
    seen = settings_in_child(
        "settings.CELERY_BROKER_URL",
        REDIS_URL=None,
        REDIS_HOST="cache.internal",
        REDIS_PORT="6380",
        REDIS_DB="2",
        REDIS_PASSWORD="p@ss/word",
        TASKCENTER_VAR_DIR=str(tmp_path),
    )

    assert seen == "redis://:p%40ss%2Fword@cache.internal:6380/2"


def test_mysql_url_gets_utf8mb4_strict_mode_and_bounded_connection_age(tmp_path):
    seen = settings_in_child(
        "{k: settings.DATABASES['default'][k]"
        " for k in ('ENGINE', 'NAME', 'CONN_MAX_AGE', 'CONN_HEALTH_CHECKS')}"
        " | {'opts': settings.DATABASES['default']['OPTIONS']}",
        DATABASE_URL="mysql://u:p@db.internal:3306/tc",
        TASKCENTER_VAR_DIR=str(tmp_path),
    )

    assert seen["ENGINE"] == "django.db.backends.mysql"
    assert seen["NAME"] == "tc"
    assert 0 < seen["CONN_MAX_AGE"] < 28800
    assert seen["CONN_HEALTH_CHECKS"] is True
    assert seen["opts"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in seen["opts"]["init_command"]


def test_fast_paths_off_turns_every_switch_back_to_the_stock_library(tmp_path):
    code = (
        "{'results': settings.CELERY_RESULT_BACKEND,"
        " 'switches': [settings.TASKCENTER_FAST_AUTH, settings.TASKCENTER_FAST_PUBLISH,"
        " settings.TASKCENTER_RUN_BATCHING, settings.TASKCENTER_FAST_RESULTS],"
        " 'started_delay': settings.TASKCENTER_RESULT_STARTED_DELAY}"
    )
    mysql = {"DATABASE_URL": "mysql://u:p@db.internal:3306/tc", "TASKCENTER_VAR_DIR": str(tmp_path)}

    stock = settings_in_child(code, TASKCENTER_FAST_PATHS="false", **mysql)
    one_back_on = settings_in_child(
        code, TASKCENTER_FAST_PATHS="false", TASKCENTER_FAST_PUBLISH="true", **mysql
    )
    fast = settings_in_child(code, **mysql)

    assert stock == {
        "results": "taskcenter.results.backend.ReconnectingDatabaseBackend",
        "switches": [False, False, False, False],
        "started_delay": 0.0,
    }
    assert one_back_on["switches"] == [False, True, False, False]
    assert fast == {
        "results": "taskcenter.results.backend.UpsertDatabaseBackend",
        "switches": [True, True, True, True],
        "started_delay": 0.25,
    }


def test_pickle_in_accept_content_is_a_system_check_error(settings):
    settings.CELERY_ACCEPT_CONTENT = ["json", "pickle"]

    errors = check_serializers(None)

    assert [e.id for e in errors] == ["taskcenter.E001"]


def test_system_checks_pass_with_the_shipped_settings():
    call_command("check", fail_level="WARNING")


def test_run_worker_translates_its_options_to_celery_arguments():
    argv = build_argv(
        {
            "queues": "default,email",
            "loglevel": "DEBUG",
            "pool": "solo",
            "concurrency": 3,
            "logfile": "/tmp/w.log",
            "hostname": "w1@%h",
            "extra": ["--without-gossip"],
        }
    )

    assert argv == [
        "worker",
        "--queues=default,email",
        "--loglevel=DEBUG",
        "--pool=solo",
        "--concurrency=3",
        "--logfile=/tmp/w.log",
        "--hostname=w1@%h",
        "--without-gossip",
    ]


def test_run_worker_help_documents_every_option():
    done = subprocess.run(
        [sys.executable, "manage.py", "run_worker", "--help"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    for option in ("--queues", "--loglevel", "--pool", "--concurrency", "--logfile", "--hostname"):
        assert option in done.stdout
