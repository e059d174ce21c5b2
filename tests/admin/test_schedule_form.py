"""The schedule form: jobs come from the catalog, and bad input is a form error on its field."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from taskcenter.models import ScheduleChange

pytestmark = pytest.mark.django_db

ADD_URL = "admin:django_celery_beat_periodictask_add"


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "nightly report",
        "job": "jobs.reports.build_report",
        "enabled": "on",
        "description": "",
        "schedule_type": "interval",
        "interval_every": "10",
        "interval_period": "seconds",
        "crontab_minute": "*",
        "crontab_hour": "*",
        "crontab_day_of_month": "*",
        "crontab_month_of_year": "*",
        "crontab_day_of_week": "*",
        "crontab_timezone": "UTC",
        "clocked_clocked_time_0": "",
        "clocked_clocked_time_1": "",
        "solar_event": "",
        "solar_latitude": "",
        "solar_longitude": "",
        "queue": "",
        "args": "[]",
        "kwargs": '{"since_hours": 2}',
    }
    data.update(overrides)
    return data


def post_add(client, **overrides: str):
    return client.post(reverse(ADD_URL), form_data(**overrides))


def test_job_field_offers_only_registered_celery_jobs(admin_client):
    response = admin_client.get(reverse(ADD_URL))

    choices = dict(response.context["adminform"].form.fields["job"].choices)
    assert "jobs.reports.build_report" in choices
    assert "jobs.email.send_email" in choices
    assert "jobs.maintenance.purge_results" not in choices  # a local job, not Celery's
    assert "celery.backend_cleanup" not in choices


def test_unknown_job_is_a_form_error_on_the_job_field(admin_client):
    response = post_add(admin_client, job="jobs.nope")

    assert response.status_code == 200
    assert "job" in response.context["adminform"].form.errors
    assert not PeriodicTask.objects.filter(name="nightly report").exists()


@pytest.mark.parametrize(
    ("job", "args", "kwargs", "field", "message"),
    [
        ("jobs.reports.build_report", "[]", '{"colour": "red"}', "kwargs", "colour: unexpected"),
        ("jobs.reports.build_report", "[]", '{"since_hours": "5"}', "kwargs", "since_hours"),
        ("jobs.reports.build_report", '["five"]', "{}", "args", "since_hours"),
        (
            "jobs.email.send_email",
            "[]",
            '{"subject": "s", "body": "b"}',
            "kwargs",
            "to: Field required",
        ),
    ],
    ids=["wrong-name", "wrong-type", "wrong-positional-type", "missing-required"],
)
def test_arguments_that_do_not_fit_the_signature_are_a_field_error(
    admin_client, job, args, kwargs, field, message
):
    response = post_add(admin_client, job=job, args=args, kwargs=kwargs)

    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors[field]
    assert not PeriodicTask.objects.filter(name="nightly report").exists()


@pytest.mark.parametrize("field", ["args", "kwargs"])
def test_invalid_json_is_a_form_error(admin_client, field):
    response = post_add(admin_client, **{field: "{not json"})

    assert any("Invalid JSON" in e for e in response.context["adminform"].form.errors[field])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("crontab_minute", "61"),
        ("crontab_hour", "25"),
        ("crontab_day_of_week", "funday"),
        ("crontab_month_of_year", "0-13"),
    ],
)
def test_invalid_cron_field_is_a_form_error_on_that_field(admin_client, field, value):
    response = post_add(admin_client, schedule_type="crontab", **{field: value})

    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert errors[field][0].startswith("Invalid ")
    assert repr(value) in errors[field][0]


def test_a_whole_cron_expression_in_one_field_is_refused_quoting_that_field(admin_client):
    response = post_add(admin_client, schedule_type="crontab", crontab_minute="5 4 * * *")

    error = response.context["adminform"].form.errors["crontab_minute"][0]
    assert error.startswith("minute takes one cron field, not a whole expression")
    assert "'5 4 * * *'" in error
    assert "* * * * *" not in error


def test_valid_interval_schedule_is_saved_audited_and_announced_to_beat(admin_client, admin_user):
    before = PeriodicTasks.last_change()

    response = post_add(admin_client)

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    task = PeriodicTask.objects.get(name="nightly report")
    assert (task.interval.every, task.interval.period) == (10, "seconds")
    assert json.loads(task.kwargs) == {"since_hours": 2}
    assert PeriodicTasks.last_change() != before
    change = ScheduleChange.objects.get(periodic_task=task)
    assert (change.user, change.action) == (admin_user, "create")
    assert change.changes["task"] == [None, "jobs.reports.build_report"]


def test_crontab_schedule_carries_its_timezone(admin_client):
    response = post_add(
        admin_client,
        schedule_type="crontab",
        crontab_minute="30",
        crontab_hour="2",
        crontab_timezone="Europe/Paris",
    )

    assert response.status_code == 302
    cron = PeriodicTask.objects.get(name="nightly report").crontab
    assert (cron.minute, cron.hour, str(cron.timezone)) == ("30", "2", "Europe/Paris")


def test_clocked_schedule_runs_once(admin_client):
    response = post_add(
        admin_client,
        schedule_type="clocked",
        clocked_clocked_time_0="2031-01-02",
        clocked_clocked_time_1="03:04:05",
    )

    assert response.status_code == 302
    task = PeriodicTask.objects.get(name="nightly report")
    assert task.one_off
    assert task.clocked.clocked_time.year == 2031


def test_solar_schedule_is_saved(admin_client):
    response = post_add(
        admin_client,
        schedule_type="solar",
        solar_event="sunrise",
        solar_latitude="48.85",
        solar_longitude="2.35",
    )

    assert response.status_code == 302
    assert PeriodicTask.objects.get(name="nightly report").solar.event == "sunrise"


def test_editing_a_schedule_records_only_the_fields_that_changed(admin_client, report_schedule):
    url = reverse("admin:django_celery_beat_periodictask_change", args=[report_schedule.pk])

    response = admin_client.post(
        url,
        form_data(
            name="hourly report", interval_every="300", kwargs='{"since_hours": 1}', queue="reports"
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    change = ScheduleChange.objects.filter(periodic_task=report_schedule).first()
    assert change.action == "update"
    assert change.changes == {"queue": [None, "reports"]}
