"""The interface in English and Simplified Chinese: the language from the browser or from
LANGUAGE_CODE, every string of our own translated, and the compiled catalog current."""

from __future__ import annotations

import ast
import gettext
import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import ROOT
from tests.test_settings import settings_in_child

CATALOG = ROOT / "taskcenter" / "locale" / "zh_Hans" / "LC_MESSAGES"
#: Django's own strings in the copied admin index sidebar: Django's catalog translates them.
DJANGOS_OWN = {
    "Recent actions",
    "My actions",
    "None available",
    "Added:",
    "Changed:",
    "Deleted:",
    "Unknown content",
}


def _po_entries() -> dict[str, str]:
    entries: dict[str, str] = {}
    for block in (CATALOG / "django.po").read_text().split("\n\n"):
        msgid = msgstr = ""
        current = None
        for line in block.splitlines():
            if line.startswith("msgid "):
                current, msgid = "id", ast.literal_eval(line[6:])
            elif line.startswith("msgstr "):
                current, msgstr = "str", ast.literal_eval(line[7:])
            elif line.startswith('"') and current == "id":
                msgid += ast.literal_eval(line)
            elif line.startswith('"') and current == "str":
                msgstr += ast.literal_eval(line)
        if msgid:
            entries[msgid] = msgstr
    return entries


def test_language_code_comes_from_the_environment_and_both_languages_are_offered(tmp_path):
    default = settings_in_child(
        "[settings.LANGUAGE_CODE, settings.LANGUAGES]",
        LANGUAGE_CODE=None,
        TASKCENTER_VAR_DIR=str(tmp_path),
    )
    chinese = settings_in_child(
        "settings.LANGUAGE_CODE", LANGUAGE_CODE="zh-hans", TASKCENTER_VAR_DIR=str(tmp_path)
    )

    assert default[0] == "en-us"
    assert [code for code, _ in default[1]] == ["en", "zh-hans"]
    assert chinese == "zh-hans"


def test_every_string_of_our_own_is_translated_and_the_compiled_catalog_is_current():
    entries = _po_entries()
    with (CATALOG / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog  # noqa: SLF001

    untranslated = {k for k, v in entries.items() if not v} - DJANGOS_OWN
    assert not untranslated
    assert {k: v for k, v in entries.items() if v} == {
        k: v for k, v in catalog.items() if isinstance(k, str) and k
    }


@pytest.mark.django_db
def test_the_api_answers_errors_in_the_language_asked_for(admin_user):
    client = Client()
    client.force_login(admin_user)
    url = "/api/runs/3f0c6d3e-0000-4000-8000-000000000000"

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    unrouted = client.get("/api/runs/a%2Fb", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert english.json() == {"detail": "not found"}
    assert chinese.json() == {"detail": "未找到"}
    assert unrouted.status_code == 404
    assert unrouted.json() == {"detail": "未找到"}


@pytest.mark.django_db
def test_an_unauthenticated_call_is_told_what_to_send_in_either_language():
    english = Client().get("/api/jobs", HTTP_ACCEPT_LANGUAGE="en")
    chinese = Client().get("/api/jobs", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert english.status_code == chinese.status_code == 401
    assert english.json()["detail"].startswith("authentication required")
    assert chinese.json()["detail"].startswith("需要身份验证")


@pytest.mark.django_db
def test_invalid_job_arguments_are_explained_in_chinese(admin_user):
    client = Client()
    client.force_login(admin_user)

    answer = client.post(
        "/api/jobs/jobs.demo.add/runs",
        json.dumps({"kwargs": {"x": 2**64, "y": 1}}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert answer.status_code == 422
    assert answer.json()["detail"] == "参数无效"
    assert answer.json()["errors"]["x"].startswith("整数超出范围")


@pytest.mark.django_db
def test_the_admin_speaks_chinese_by_browser_or_by_language_code(admin_client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    add = reverse("admin:django_celery_beat_periodictask_add")

    english = admin_client.get(add, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = admin_client.get(add, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    settings.LANGUAGE_CODE = "zh-hans"
    index = admin_client.get(reverse("admin:index")).content.decode()

    assert "Parameters of jobs.reports.build_report" in english
    assert "A unique name for this schedule" in english
    assert "jobs.reports.build_report 的参数" in chinese
    assert "此调度的唯一名称" in chinese
    assert "选择一个作业以查看其参数。" in chinese
    assert "主节点" in index  # the beat panel's "Leader"
    assert "最近动作" in index or "最近操作" in index  # Django's own "Recent actions"


def test_the_chinese_readme_covers_running_the_task_center():
    readme = (ROOT / "README.zh-hans.md").read_text()

    for must in ("make run", "make test", "var/admin-password", "LANGUAGE_CODE", "/api/"):
        assert must in readme, must
    assert "第一行是用户名，第二行是密码" in readme
    assert "README.zh-hans.md" in (ROOT / "README.md").read_text()
