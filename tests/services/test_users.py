"""The first admin: its generated password file holds what README says it holds."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import authenticate

from taskcenter.services.users import admin_ensure
from tests.conftest import ROOT


@pytest.mark.django_db
def test_the_generated_admin_password_file_is_user_then_password_as_readme_says(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    password_file = tmp_path / "admin-password"

    admin_ensure(password_file=password_file)

    username, password = password_file.read_text().splitlines()
    assert authenticate(username=username, password=password) is not None
    readme = " ".join(ROOT.joinpath("README.md").read_text().split())
    assert re.search(r"`var/admin-password`: two lines, the user name, then the password", readme)
