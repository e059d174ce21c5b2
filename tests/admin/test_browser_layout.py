"""The admin's layout in a real headless browser (Debian's chromium driven by Selenium):
the index's beat panel in the sidebar, the schedule form showing only the chosen kind's
fields and the chosen job's parameters, and wide lists fitting a 1,400 px window."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_celery_results.models import TaskResult
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from taskcenter.models import DeadLetter, Run
from tests.browser import click_and_load

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

#: The width the lists were found too narrow at.
WIDTH = 1400


def _rect(browser: webdriver.Chrome, css: str) -> dict[str, float]:
    return browser.execute_script(
        "return document.querySelector(arguments[0]).getBoundingClientRect().toJSON()", css
    )


def _log_in(browser: webdriver.Chrome, url: str) -> None:
    User.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    browser.set_window_size(WIDTH, 1000)
    browser.get(f"{url}/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys("boss")
    browser.find_element(By.ID, "id_password").send_keys("s3cret-pass")
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"))


def test_the_beat_panel_sits_in_the_sidebar_beside_the_app_list(live_server, browser):
    _log_in(browser, live_server.url)

    panel = _rect(browser, "#beat-panel")
    sidebar = _rect(browser, "#content-related")
    apps = _rect(browser, "#content-main")
    recent = _rect(browser, "#recent-actions-module")

    assert sidebar["left"] <= panel["left"]
    assert panel["right"] <= sidebar["right"] + 1
    assert panel["left"] >= apps["right"] - 1  # beside the app list, not under it
    assert panel["top"] < apps["bottom"]
    assert panel["bottom"] <= recent["top"] + 1
    assert recent["top"] - panel["top"] < 600  # "Recent actions" is not pushed far down


def test_the_schedule_form_shows_only_the_chosen_kind_and_the_jobs_parameters(live_server, browser):
    _log_in(browser, live_server.url)
    browser.get(f"{live_server.url}/admin/django_celery_beat/periodictask/add/")

    def shown(css: str) -> bool:
        return browser.find_element(By.CSS_SELECTOR, css).is_displayed()

    # Given the form as it opens: the interval kind, no job chosen
    assert shown("fieldset.kind-interval")
    assert not any(shown(f"fieldset.kind-{k}") for k in ("crontab", "clocked", "solar"))
    assert shown(".job-parameters-none")
    assert not browser.find_elements(By.CSS_SELECTOR, "table.job-parameters:not([hidden])")

    # When a cron schedule of the report job is chosen
    browser.find_element(By.CSS_SELECTOR, "input[name=schedule_type][value=crontab]").click()
    Select(browser.find_element(By.ID, "id_job")).select_by_value("jobs.reports.build_report")

    # Then only the cron fields show, and the report job's parameters
    assert shown("fieldset.kind-crontab")
    assert not shown("fieldset.kind-interval")
    assert shown("#id_crontab_minute")
    assert not shown("#id_interval_every")
    visible = browser.find_elements(By.CSS_SELECTOR, "table.job-parameters:not([hidden])")
    assert [t.get_attribute("data-job") for t in visible] == ["jobs.reports.build_report"]
    cells = [c.text for c in visible[0].find_elements(By.CSS_SELECTOR, "tr.job-parameter td")]
    assert "since_hours" in cells
    assert "24" in cells
    assert not shown(".job-parameters-none")


def test_wide_lists_show_their_last_column_at_1400_px(live_server, browser, admin_user):
    now = timezone.now()
    for n in range(3):
        TaskResult.objects.create(
            task_id=f"0f6b7a2e-5c1d-4e8f-9a3b-00000000000{n}",
            status="FAILURE",
            task_name="jobs.reports.build_report",
            periodic_task_name="a rather long schedule name for the nightly report",
            worker="celery@a-long-worker-host-name.example.internal",
        )
        Run.objects.create(
            id=f"0f6b7a2e-5c1d-4e8f-9a3b-00000000002{n}",
            job="jobs.reports.build_report",
            user=admin_user,
        )
        DeadLetter.objects.create(
            task_id=f"0f6b7a2e-5c1d-4e8f-9a3b-00000000001{n}",
            job="jobs.demo.call_downstream",
            exception_type="jobs.logic.demo.DownstreamUnavailableError",
            first_failed_at=now,
            last_failed_at=now,
        )
    _log_in(browser, live_server.url)

    for path in ("django_celery_results/taskresult", "taskcenter/run", "taskcenter/deadletter"):
        browser.get(f"{live_server.url}/admin/{path}/")
        viewport = browser.execute_script("return document.documentElement.clientWidth")
        last = _rect(browser, "#result_list thead th:last-child")
        assert 0 < last["right"] <= viewport, (path, last, viewport)
        assert browser.execute_script(
            "const r = document.querySelector('#changelist .results');"
            "return r.scrollWidth <= r.clientWidth + 1"
        ), path
