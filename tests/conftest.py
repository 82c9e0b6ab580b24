"""Shared personas: staff (runs campaigns), stranger (signed in, not staff)."""

import pytest


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-123", is_staff=True)


@pytest.fixture
def stranger(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-12345")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
