"""Zones are resolved in bulk for big lists: from the contact row, else the number."""

import pytest

from calls.tasks import resolve_lead_zones
from campaigns.models import Campaign, Lead
from tests import factory

pytestmark = pytest.mark.django_db


def test_the_periodic_task_gives_every_callable_lead_its_zone():
    campaign = factory.campaign(name="Big list", status=Campaign.Status.RUNNING,
                                default_timezone="Europe/Paris")
    people = {"+12025550111": "America/Chicago", "+14155550123": "", "+18005550100": ""}
    for phone, zone in people.items():
        factory.lead(campaign, factory.customer(phone, timezone=zone))
    resolve_lead_zones.apply()
    zones = dict(Lead.objects.values_list("customer__phone", "timezone"))
    # The contact's own zone; then the number's (San Francisco); a toll-free number spans
    # every US zone, so the campaign's default.
    assert zones == {"+12025550111": "America/Chicago", "+14155550123": "America/Los_Angeles",
                     "+18005550100": "Europe/Paris"}
