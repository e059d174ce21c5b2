"""`make run`'s process set: all four start, a schedule runs, and SIGTERM stops them all."""

import http.cookiejar
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, Proc, child_env, wait_for
from tests.servers import free_port

pytestmark = [pytest.mark.slow]

ADMIN_PASSWORD = "run-command-test-pw"


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class AdminSession:
    """A logged-in admin over real HTTP (cookies and CSRF as a browser keeps them)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def login(self, username: str, password: str) -> None:
        page = self.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "username": username,
                "password": password,
                "next": "/admin/",
            }
        ).encode()
        request = urllib.request.Request(
            self.base + "/admin/login/", data=body, headers={"Referer": self.base + "/admin/login/"}
        )
        with self.opener.open(request, timeout=10) as response:
            assert "Log out" in response.read().decode() or response.url.endswith("/admin/")


def api_call(base: str, secret: str, path: str, body: dict | None = None) -> dict:
    """GET `path` (POST `body` as JSON when given) with a bearer token; the JSON answer."""
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def run_taskcenter_and_check(env: dict[str, str], tmp: Path, result_rows) -> None:
    """Start run_taskcenter, see all four up, a 2-second schedule run, then stop it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = Proc(
        [sys.executable, "manage.py", "run_taskcenter", "--port", str(port)], tmp / "run.log", env
    )
    try:
        wait_for(lambda: _up(base + "/health"), timeout=60, what="the web process")
        for marker in (
            "worker      | ",
            "beat        | ",
            "apscheduler | local scheduler:",
            " ready.",
        ):
            wait_for(lambda m=marker: m in proc.output(), timeout=60, what=marker)
        assert f"open {base}/admin/" in proc.output()

        manage(
            env,
            "shell",
            "-c",
            "from taskcenter.services.schedules import schedule_create; schedule_create("
            "user=None, data={'name': 'every-2s-report', 'job': 'jobs.reports.build_report',"
            " 'interval': {'every': 2, 'period': 'seconds'}})",
        )
        task_id = wait_for(
            lambda: result_rows("every-2s-report"), timeout=60, what="a result of the schedule"
        )

        assert _up(base + "/static/admin/css/base.css"), "static files are not served"
        admin = AdminSession(base)
        admin.login("admin", ADMIN_PASSWORD)
        page = admin.get("/admin/django_celery_results/taskresult/?q=" + task_id)
        assert task_id in page

        # A trigger through the API is carried out by the worker on this broker too.
        secret = manage(env, "api_token", "create", "admin").strip()
        accepted = api_call(
            base, secret, "/api/jobs/jobs.demo.add/runs", {"kwargs": {"x": 2, "y": 2}}
        )
        status_url = accepted["status_url"]
        wait_for(
            lambda: api_call(base, secret, status_url)["state"] == "SUCCESS",
            timeout=60,
            what="the triggered run to succeed",
        )
        assert api_call(base, secret, status_url)["result"] == 4
    finally:
        os.kill(proc.popen.pid, signal.SIGTERM)
        started = time.monotonic()
        code = proc.popen.wait(timeout=60)
        stopped_in = time.monotonic() - started
        proc.stop()
    log = proc.output()
    assert "all processes stopped" in log, log[-3000:]
    assert code == 0
    assert stopped_in < 45
    for name in ("web", "worker", "beat", "apscheduler"):
        pids = re.findall(rf"started {name} \(pid (\d+)\)", log)
        assert pids, name
        assert not Path(f"/proc/{pids[0]}").exists() or _is_zombie(pids[0]), f"{name} still runs"


def _is_zombie(pid: str) -> bool:
    return " Z " in Path(f"/proc/{pid}/stat").read_text()


def test_embedded_default_runs_all_processes_and_stops_on_sigterm(tmp_path):
    env = child_env(
        DATABASE_URL=None,
        REDIS_URL=None,
        REDIS_HOST=None,
        TASKCENTER_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        DJANGO_SUPERUSER_USERNAME="admin",
    )
    manage(env, "migrate", "--noinput")
    assert "admin user created" in manage(env, "ensure_admin")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    db = tmp_path / "var" / "taskcenter.sqlite3"

    def result_rows(schedule: str) -> str | None:
        with sqlite3.connect(db, timeout=10) as conn:
            row = conn.execute(
                "SELECT task_id FROM django_celery_results_taskresult "
                "WHERE periodic_task_name = ? AND status = 'SUCCESS'",
                (schedule,),
            ).fetchone()
        return row[0] if row else None

    run_taskcenter_and_check(env, tmp_path, result_rows)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_mysql_and_redis_run_all_processes_and_stop_on_sigterm(tmp_path, django_user_model):
    from django_celery_results.models import TaskResult

    django_user_model.objects.create_superuser("admin", "", ADMIN_PASSWORD)
    env = child_env(TASKCENTER_VAR_DIR=str(tmp_path / "var"))
    manage(env, "collectstatic", "--noinput", "-v", "0")

    def result_rows(schedule: str) -> str | None:
        row = TaskResult.objects.filter(periodic_task_name=schedule, status="SUCCESS").first()
        return row.task_id if row else None

    run_taskcenter_and_check(env, tmp_path, result_rows)
