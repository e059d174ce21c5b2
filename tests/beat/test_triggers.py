"""The change feed's triggers follow the models: columns added later are watched after migrate."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import isolate_apps

from taskcenter.beat.changes import ChangeFeed
from taskcenter.beat.triggers import (
    BOOKKEEPING_COLUMNS,
    WATCHED,
    install_triggers,
    installed_triggers,
    triggers_sync,
    watched_table,
)
from tests.conftest import ROOT

SCRATCH = "tc_test_feed_scratch"


def update_trigger_columns(conn: BaseDatabaseWrapper, table: str) -> list[str]:
    """Columns the installed UPDATE trigger of `table` compares, read back from the database."""
    installed = installed_triggers(conn, [table])
    (sql,) = [sql for name, (_, sql) in installed.items() if "_upd_" in name]
    return sorted(set(re.findall(r"OLD\.[`\"](\w+)[`\"]", sql)))


def check_triggers_match_models(conn: BaseDatabaseWrapper) -> None:
    """Assert each watched table has three feed triggers comparing its model's columns."""
    from django.apps import apps

    for _, label in WATCHED:
        model = apps.get_model(label)
        table = model._meta.db_table
        expected = {f.column for f in model._meta.concrete_fields} - BOOKKEEPING_COLUMNS
        assert update_trigger_columns(conn, table) == sorted(expected), table
        assert len(installed_triggers(conn, [table])) == 3, table


def check_added_column_is_watched_after_sync(conn: BaseDatabaseWrapper) -> None:
    """Given a watched scratch table, a column added with raw SQL is watched after the sync."""
    with isolate_apps("taskcenter"):

        class Scratch(models.Model):
            name = models.CharField(max_length=20)

            class Meta:
                app_label = "taskcenter"
                db_table = SCRATCH

            def __str__(self) -> str:
                return self.name

        class ScratchWider(models.Model):
            name = models.CharField(max_length=20)
            note = models.CharField(max_length=20, default="")

            class Meta:
                app_label = "taskcenter"
                db_table = SCRATCH

            def __str__(self) -> str:
                return self.name

    with conn.schema_editor() as editor:
        editor.create_model(Scratch)
    try:
        install_triggers(conn, [watched_table("task", Scratch)])
        with conn.cursor() as cursor:
            cursor.execute(f"INSERT INTO {SCRATCH} (name) VALUES ('a')")
            cursor.execute(f"SELECT id FROM {SCRATCH}")
            (pk,) = cursor.fetchone()
            feed = ChangeFeed(connection=conn)
            feed.start()
            # when a column is added after the triggers were installed
            cursor.execute(f"ALTER TABLE {SCRATCH} ADD COLUMN note varchar(20) NOT NULL DEFAULT ''")
            cursor.execute(f"UPDATE {SCRATCH} SET note = 'x' WHERE id = %s", [pk])
            # then it is not watched yet, while the old columns are
            assert feed.poll().task_ids == set()
            cursor.execute(f"UPDATE {SCRATCH} SET name = 'b' WHERE id = %s", [pk])
            assert feed.poll().task_ids == {pk}

            # when the post_migrate handler runs with the model that has the column
            wider = [watched_table("task", ScratchWider)]
            assert triggers_sync(using=conn.alias, watched=wider) == 2  # new UPDATE, old dropped

            # then the new column is watched, and a second run changes nothing
            cursor.execute(f"UPDATE {SCRATCH} SET note = 'y' WHERE id = %s", [pk])
            assert feed.poll().task_ids == {pk}
        assert update_trigger_columns(conn, SCRATCH) == ["id", "name", "note"]
        assert len(installed_triggers(conn, [SCRATCH])) == 3
        assert triggers_sync(using=conn.alias, watched=wider) == 0
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")


@pytest.mark.services
@pytest.mark.django_db
def test_installed_triggers_compare_every_model_column_but_bookkeeping():
    check_triggers_match_models(connection)
    assert "description" in update_trigger_columns(connection, "django_celery_beat_periodictask")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_column_added_after_migration_is_watched_once_the_handler_runs():
    check_added_column_is_watched_after_sync(connection)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_migrate_brings_back_a_feed_trigger_that_went_missing():
    # given the UPDATE trigger of interval schedules is gone (as when SQLite rebuilds a table)
    table = "django_celery_beat_intervalschedule"
    (name,) = [n for n in installed_triggers(connection, [table]) if "_upd_" in n]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {name}")
    try:
        # when migrate runs with nothing to migrate
        call_command("migrate", verbosity=0)
        # then the trigger is back, as the models say
        assert name in installed_triggers(connection, [table])
        check_triggers_match_models(connection)
    finally:
        triggers_sync(using=connection.alias)


@pytest.mark.slow
def test_sqlite_gets_the_same_triggers_on_a_fresh_migrate(tmp_path: Path):
    # given a fresh embedded (SQLite) install
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(TASKCENTER_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    # when the checks above run against it, then they hold there too
    script = (
        "from django.db import connection; "
        "from tests.beat import test_triggers as t; "
        "assert connection.vendor == 'sqlite'; "
        "t.check_triggers_match_models(connection); "
        "t.check_added_column_is_watched_after_sync(connection); "
        "print('ok')"
    )
    done = subprocess.run(
        [*manage, "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
