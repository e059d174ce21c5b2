"""The status URL every trigger answers with is the one Django's reverse() gives."""

import uuid

import pytest
from django.urls import reverse, set_script_prefix

from taskcenter.api.runs import run_status_url


@pytest.mark.parametrize("prefix", ["/", "/taskcenter/"])
def test_status_url_is_what_reverse_gives_under_any_script_prefix(prefix):
    run_id = str(uuid.uuid4())
    set_script_prefix(prefix)
    try:
        assert run_status_url(run_id) == reverse("api:get_run", args=[run_id])
        assert run_status_url(run_id).startswith(prefix + "api/runs/")
    finally:
        set_script_prefix("/")
