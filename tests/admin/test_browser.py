"""The admin in a real headless browser (Debian's chromium driven by Selenium), with real
beat and a real worker: log in, create a schedule with arguments, see it run, pause it,
see it stop."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django_celery_results.models import TaskResult
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser import click_and_load
from tests.conftest import start_beat, wait_for

NAME = "browser report"


def runs_on_page(browser: webdriver.Chrome) -> list[str]:
    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, ".recent-run .run-status")]


@pytest.mark.services
@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_admin_user_creates_watches_and_pauses_a_schedule_in_a_browser(
    celery_worker, live_server, browser, tmp_path
):
    User.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    beat = start_beat(tmp_path)
    try:
        # Given a logged-in admin
        browser.get(f"{live_server.url}/admin/login/")
        browser.find_element(By.ID, "id_username").send_keys("boss")
        browser.find_element(By.ID, "id_password").send_keys("s3cret-pass")
        click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"))
        assert "Site administration" in browser.title

        # When they create a 2-second interval schedule of a job with arguments
        browser.get(f"{live_server.url}/admin/django_celery_beat/periodictask/add/")
        browser.find_element(By.ID, "id_name").send_keys(NAME)
        Select(browser.find_element(By.ID, "id_job")).select_by_value("jobs.reports.build_report")
        browser.find_element(By.CSS_SELECTOR, "input[name=schedule_type][value=interval]").click()
        browser.find_element(By.ID, "id_interval_every").send_keys("2")
        Select(browser.find_element(By.ID, "id_interval_period")).select_by_value("seconds")
        kwargs = browser.find_element(By.ID, "id_kwargs")
        kwargs.clear()
        kwargs.send_keys('{"since_hours": 2, "fmt": "csv"}')
        click_and_load(browser, browser.find_element(By.NAME, "_continue"))
        assert "was added successfully" in browser.page_source
        change_url = browser.current_url

        # Then they see it run on its change page
        def succeeded_on_page() -> bool:
            browser.get(change_url)
            return "SUCCESS" in runs_on_page(browser)

        wait_for(succeeded_on_page, timeout=60, interval=1, what="a SUCCESS run on the page")
        assert "every 2 seconds" in browser.find_element(By.ID, "schedule-words").text

        # When they pause it (no end time)
        browser.find_element(By.ID, "pause").click()
        reloads = beat.output().count("schedule change(s)")
        click_and_load(browser, browser.find_element(By.ID, "pause-submit"))
        assert "1 schedule(s) paused." in browser.page_source
        wait_for(
            lambda: beat.output().count("schedule change(s)") > reloads,
            timeout=20,
            what="beat to reload",
        )
        wait_for(
            lambda: (
                not TaskResult.objects.filter(
                    periodic_task_name=NAME, status__in=["PENDING", "STARTED"]
                ).exists()
            ),
            timeout=20,
            what="in-flight runs to finish",
        )
        sent = beat.output().count(f"beat: sent {NAME} for slot")

        # Then the page says it is paused, and over three intervals nothing more is sent
        browser.get(change_url)
        assert "disabled" in browser.find_element(By.ID, "paused-state").text
        assert "No upcoming runs." in browser.find_element(By.ID, "next-runs").text
        shown = len(runs_on_page(browser))
        stored = TaskResult.objects.filter(periodic_task_name=NAME).count()
        watch_until = time.monotonic() + 6
        while time.monotonic() < watch_until:
            assert beat.output().count(f"beat: sent {NAME} for slot") == sent
            time.sleep(0.5)
        browser.get(change_url)
        assert len(runs_on_page(browser)) == shown
        assert TaskResult.objects.filter(periodic_task_name=NAME).count() == stored
    finally:
        beat.stop()
