"""Fuzz every operation from the API's own OpenAPI schema: no input may cause a 500, and
every answer is one the schema declares, in the shape it declares."""

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.celery import app
from taskcenter import dispatch
from taskcenter.api import api
from taskcenter.models import Run
from taskcenter.services.tokens import token_create

#: Bounded so the whole fuzz stays within a minute or two on a shared 2-core machine.
EXAMPLES_PER_OPERATION = 30


#: The schema the API itself serves at /api/openapi.json (same object, without a request).
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())


@pytest.fixture
def superuser_token(db):
    user = get_user_model().objects.create_superuser(username="fuzz", password="x")
    yield token_create(user=user, name="fuzz").secret
    # Whatever the fuzzer managed to enqueue must not keep the session's worker busy.
    for run_id in Run.objects.values_list("id", flat=True):
        dispatch.revoke(run_id, terminate=True)
    app.control.purge()


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_causes_a_server_error_or_an_undeclared_answer(case, superuser_token, live_server):
    response = case.call(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {superuser_token}"},
        timeout=30,
    )

    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    assert "Traceback" not in response.text
