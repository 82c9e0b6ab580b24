"""An API client with a bearer token, as a script or a CRM would hold one."""

import json

import pytest
from django.test import Client

from calls.models import ApiToken


class Api:
    """`api.post("/api/v1/campaigns/", {...})`: JSON in, the response out."""

    def __init__(self, token: str):
        self.client = Client(headers={"Authorization": f"Bearer {token}"})

    def get(self, url, params=None):
        return self.client.get(url, params or {})

    def post(self, url, body=None):
        return self.client.post(url, json.dumps(body or {}), content_type="application/json")

    def patch(self, url, body):
        return self.client.patch(url, json.dumps(body), content_type="application/json")

    def delete(self, url):
        return self.client.delete(url)


@pytest.fixture
def api(db):
    return Api(ApiToken.issue("CRM")[1])


@pytest.fixture
def reader(db):
    """A token that may only read."""
    return Api(ApiToken.issue("Reporting", scopes=[ApiToken.Scope.READ])[1])
