"""The schema is served as OpenAPI 3; staff read it rendered, from this server's own assets."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_describing_the_api(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/calls/",
        "/api/v1/calls/{call_id}/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{endpoint_id}/",
        "/api/v1/campaigns/{campaign_id}/leads/",
        "/api/v1/do-not-call/{phone}/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    problem = schema["paths"]["/api/v1/calls/"]["post"]["responses"]["400"]["content"]
    assert problem["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_the_docs_page_is_for_staff_and_needs_no_cdn(staff_client, stranger):
    assert Client().get("/api/v1/docs/").status_code == 302  # to the login page
    page = staff_client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "/api/v1/openapi.json" in html
    assert (
        staff_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code
        == 200
    )
    staff_client.force_login(stranger)
    assert staff_client.get("/api/v1/docs/").status_code == 403


def test_an_unknown_api_address_is_a_problem_too(client):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
