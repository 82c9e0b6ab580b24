"""The served OpenAPI schema, checked against the API itself with schemathesis: requests
made from the schema get answers the schema describes, and never a server error.

Bounded so it stays quick: a few deterministic examples per operation. Placing a call is
left out (it dials Twilio; tests/dialer/test_api.py places calls through the emulator)."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from calls.models import ApiToken

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
schema.config.generation.update(modes=["positive"], max_examples=6, deterministic=True, no_shrink=True)
api = schema.exclude(path="/api/v1/calls/", method="POST")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def token(db):
    return ApiToken.issue("Schemathesis")[1]


@pytest.mark.django_db(transaction=True)  # the WSGI app ends each request by returning its connection
@api.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
