"""The job catalog: declarations, parameter schemas and argument validation."""

import pytest

from taskcenter.catalog import JobArgumentsError, Runtime, UnknownJobError, all_jobs, get_job


def test_every_runtime_has_at_least_one_real_job():
    runtimes = {job.runtime for job in all_jobs()}

    assert runtimes == {Runtime.CELERY, Runtime.LOCAL, Runtime.AIO}


def test_celery_job_is_registered_with_celery_under_its_stable_name():
    from config.celery import app

    job = get_job("jobs.reports.build_report")

    assert job.task.name == "jobs.reports.build_report"
    assert app.tasks["jobs.reports.build_report"].run is job.func
    assert job.queue == "reports"


def test_parameters_schema_comes_from_type_hints():
    schema = get_job("jobs.email.send_email").parameters_schema()

    assert schema["required"] == ["to", "subject", "body"]
    assert schema["properties"]["to"]["type"] == "array"
    assert schema["properties"]["subject"]["type"] == "string"


def test_validate_binds_positional_and_keyword_arguments():
    job = get_job("jobs.reports.build_report")

    assert job.validate([12], {"fmt": "csv"}) == {"since_hours": 12, "fmt": "csv"}


@pytest.mark.parametrize(
    ("args", "kwargs", "field", "message"),
    [
        ([], {"colour": "red"}, "colour", "unexpected argument"),
        ([], {"since_hours": "5"}, "since_hours", "integer"),
        ([1, "json", 3], {}, "args", "at most 2 positional"),
        ([5], {"since_hours": 6}, "since_hours", "both positionally"),
    ],
)
def test_validate_reports_each_bad_field(args, kwargs, field, message):
    job = get_job("jobs.reports.build_report")

    with pytest.raises(JobArgumentsError) as caught:
        job.validate(args, kwargs)

    assert message in caught.value.errors[field]


def test_missing_required_argument_is_a_field_error():
    with pytest.raises(JobArgumentsError) as caught:
        get_job("jobs.email.send_email").validate([], {"to": ["a@example.com"]})

    assert set(caught.value.errors) == {"subject", "body"}


def test_unknown_job_and_wrong_runtime_are_lookup_errors():
    with pytest.raises(UnknownJobError):
        get_job("jobs.nope")
    with pytest.raises(UnknownJobError):
        get_job("jobs.maintenance.clear_sessions", Runtime.CELERY)
