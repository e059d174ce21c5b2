"""Monitoring and alerts: queue samples, run rollups, a results index, alert rules and records."""

import django.db.models.deletion
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
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name='Alert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cause', models.CharField(choices=[('final_failure', 'a run failed for the last time'), ('time_limit', 'a run exceeded its time limit'), ('missed_run', 'a schedule missed a run'), ('no_worker', 'no worker heartbeat'), ('no_beat', 'no beat leader'), ('no_apscheduler', 'no run_apscheduler heartbeat')], db_index=True, max_length=32)),
                ('subject', models.CharField(db_index=True, help_text='Job, schedule or role.', max_length=200)),
                ('kind', models.CharField(choices=[('alert', 'alert'), ('summary', 'still failing'), ('recovered', 'recovered')], max_length=16)),
                ('channel', models.CharField(choices=[('email', 'email'), ('webhook', 'webhook')], max_length=16)),
                ('recipients', models.TextField(blank=True)),
                ('title', models.CharField(max_length=255)),
                ('body', models.TextField(blank=True)),
                ('count', models.PositiveIntegerField(default=1, help_text='Occurrences it stands for.')),
                ('delivered', models.BooleanField(default=False)),
                ('error', models.TextField(blank=True, help_text='Why delivery failed (after retries).')),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={
                'verbose_name': 'alert',
                'verbose_name_plural': 'alerts',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='AlertState',
            fields=[
                ('key', models.CharField(help_text='cause:subject', max_length=255, primary_key=True, serialize=False)),
                ('cause', models.CharField(choices=[('final_failure', 'a run failed for the last time'), ('time_limit', 'a run exceeded its time limit'), ('missed_run', 'a schedule missed a run'), ('no_worker', 'no worker heartbeat'), ('no_beat', 'no beat leader'), ('no_apscheduler', 'no run_apscheduler heartbeat')], max_length=32)),
                ('subject', models.CharField(max_length=200)),
                ('active', models.BooleanField(default=False)),
                ('window_started_at', models.DateTimeField(blank=True, null=True)),
                ('suppressed', models.PositiveIntegerField(default=0, help_text='Occurrences in the window not sent on their own.')),
                ('details', models.JSONField(blank=True, default=dict)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name': 'alert state',
                'verbose_name_plural': 'alert states',
            },
        ),
        migrations.CreateModel(
            name='AlertRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('job', models.CharField(blank=True, help_text='Catalog job name; empty for every job.', max_length=200)),
                ('causes', models.JSONField(blank=True, default=list, help_text='The causes alerted; empty for all.')),
                ('emails', models.TextField(blank=True, help_text='Recipients, comma separated; empty for the ADMINS setting.')),
                ('webhook', models.BooleanField(default=True, help_text='Also POST to the alert webhook, when one is configured.')),
                ('enabled', models.BooleanField(default=True)),
                ('periodic_task', models.ForeignKey(blank=True, help_text='A schedule, for its missed runs; empty for every schedule.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='alert_rules', to='django_celery_beat.periodictask')),
            ],
            options={
                'verbose_name': 'alert rule',
                'verbose_name_plural': 'alert rules',
            },
        ),
    
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
