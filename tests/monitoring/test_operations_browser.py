"""The operations page in headless Chromium: every chart drew, a job's row links to its runs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from selenium.webdriver.common.by import By

from taskcenter.models import QueueSample
from tests.browser import browser, click_and_load  # noqa: F401  (fixture)
from tests.monitoring.test_operations_page import JOB, make_results

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_operations_page_draws_each_chart_and_links_a_job_to_its_runs(live_server, browser):  # noqa: F811
    User.objects.create_superuser("ops", "ops@example.com", "s3cret-pass")
    make_results(JOB, [0.2, 0.4, 0.8, 1.6], failed=1)
    QueueSample.objects.create(queue="default", minute=timezone.now(), waiting=3)

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys("ops")
    browser.find_element(By.ID, "id_password").send_keys("s3cret-pass")
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"))
    browser.find_element(By.CSS_SELECTOR, "#operations-link a").click()
    browser.find_element(By.ID, "operations")

    for chart in ("chart-runs", "chart-durations", "chart-queues"):
        svg = browser.find_element(By.CSS_SELECTOR, f"#{chart} svg")
        points = svg.find_elements(By.CSS_SELECTOR, ".tc-point")
        assert points, chart
        box = svg.rect
        assert box["width"] > 300, (chart, box)
        assert box["height"] > 80, (chart, box)
    row = browser.find_element(By.CSS_SELECTOR, f'tr.job-row[data-job="{JOB}"]')
    assert row.find_element(By.CSS_SELECTOR, "td.runs").text == "4"
    link = row.find_element(By.CSS_SELECTOR, "a.job-runs")
    link.click()
    browser.find_element(By.ID, "result_list")
    assert f"job={JOB}" in browser.current_url
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == 4
