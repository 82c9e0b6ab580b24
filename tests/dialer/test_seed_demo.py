"""seed_demo: the offline demo's campaigns, on the local stack and (with --cloud) the cloud one."""

from io import StringIO

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, Lead

pytestmark = pytest.mark.django_db


def seed(*args) -> list[str]:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue().split()


def test_it_seeds_a_second_campaign_with_the_same_contacts_on_the_cloud_stack():
    local_id, cloud_id = seed("--cloud")

    local, cloud = Campaign.objects.get(pk=local_id), Campaign.objects.get(pk=cloud_id)
    assert (local.voice_stack, cloud.voice_stack) == ("natural", "cloud")
    assert cloud.name == "Summer sale on the cloud stack (demo)"
    phones = {c: set(Lead.objects.filter(campaign=c).values_list("customer__phone", flat=True))
              for c in (local, cloud)}
    assert phones[local] == phones[cloud] and len(phones[cloud]) == 7


def test_seeding_again_duplicates_nothing_and_without_cloud_seeds_only_the_local_one():
    first = seed("--cloud")
    assert seed("--cloud") == first
    assert seed() == first[:1]
    assert Lead.objects.count() == 14


def test_a_dry_run_says_what_it_would_create():
    assert "Would create the demo campaign summer_sale_cloud" in " ".join(seed("--cloud", "--dry-run"))
    assert not Campaign.objects.exists()
