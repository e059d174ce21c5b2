"""Queue depth samples, hourly run rollups, and a covering index of the results table."""

from django.db import migrations, models

# The operations page and /metrics read results by finish time and group them by job and
# state; this index answers those reads without touching the table rows.
_INDEX = "tc_taskresult_done_name"
_TABLE = "django_celery_results_taskresult"
_COLUMNS = "date_done, task_name, status, date_started, date_created"


def _create_index(apps, schema_editor) -> None:
    schema_editor.execute(f"CREATE INDEX {_INDEX} ON {_TABLE} ({_COLUMNS})")


def _drop_index(apps, schema_editor) -> None:
    on_table = f" ON {_TABLE}" if schema_editor.connection.vendor == "mysql" else ""
    schema_editor.execute(f"DROP INDEX {_INDEX}{on_table}")


class Migration(migrations.Migration):
    # MySQL cannot roll DDL back; RunPython's index statements must not sit in a transaction.
    atomic = False
    dependencies = [
        ("taskcenter", "0005_runtimes_records"),
        ("django_celery_results", "0014_alter_taskresult_status"),
    ]

    operations = [
        migrations.CreateModel(
            name="QueueSample",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("queue", models.CharField(max_length=200)),
                (
                    "minute",
                    models.DateTimeField(help_text="The minute sampled (UTC, seconds zeroed)."),
                ),
                ("waiting", models.PositiveIntegerField()),
                (
                    "oldest_age",
                    models.FloatField(
                        blank=True,
                        help_text="Age in seconds of the oldest waiting message.",
                        null=True,
                    ),
                ),
            ],
            options={
                "verbose_name": "queue sample",
                "verbose_name_plural": "queue samples",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("minute", "queue"), name="tc_queuesample_minute_queue"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RunRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("results", "results table (Celery and AnyIO)"),
                            ("local", "local job runs"),
                        ],
                        max_length=8,
                    ),
                ),
                ("job", models.CharField(max_length=200)),
                ("hour", models.DateTimeField()),
                (
                    "metric",
                    models.CharField(
                        choices=[("d", "duration"), ("w", "queue wait")], max_length=1
                    ),
                ),
                (
                    "bin",
                    models.SmallIntegerField(
                        help_text="floor(log1.2(seconds)); -1000 when unknown."
                    ),
                ),
                ("runs", models.PositiveIntegerField()),
                ("failures", models.PositiveIntegerField()),
                ("last_failure_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "run rollup",
                "verbose_name_plural": "run rollups",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("source", "hour", "metric", "job", "bin"), name="tc_runrollup_key"
                    )
                ],
            },
        ),
        migrations.RunPython(_create_index, _drop_index),
    ]
