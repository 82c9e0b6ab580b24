import pytest

from campaigns.models import DoNotCall, Lead
from tests import factory

pytestmark = pytest.mark.django_db


def test_it_adds_a_customer_to_do_not_call(staff_client, campaign):
    lead = factory.lead(campaign)
    grace = lead.customer
    response = staff_client.post(f"/customers/{grace.pk}/do-not-call/add/", {"reason": "Asked on the phone"})
    assert response["Location"] == f"/customers/{grace.pk}/"
    entry = DoNotCall.objects.get(phone=grace.phone)
    assert entry.reason == "Asked on the phone (alice)" and entry.source == "staff"
    # The list is the single source of truth: the lead itself is left alone.
    lead.refresh_from_db()
    assert lead.state == Lead.State.PENDING
    assert "Do not call" in staff_client.get(f"/customers/{grace.pk}/").content.decode()


def test_adding_twice_keeps_one_entry(staff_client):
    grace = factory.customer()
    staff_client.post(f"/customers/{grace.pk}/do-not-call/add/")
    staff_client.post(f"/customers/{grace.pk}/do-not-call/add/")
    assert DoNotCall.objects.filter(phone=grace.phone).count() == 1


def test_it_removes_a_customer_from_do_not_call(staff_client):
    grace = factory.customer()
    factory.do_not_call(grace.phone, source="bot")
    other = factory.do_not_call("+14155550999", source="import")
    staff_client.post(f"/customers/{grace.pk}/do-not-call/remove/")
    assert list(DoNotCall.objects.values_list("pk", flat=True)) == [other.pk]


def test_strangers_cannot_change_do_not_call(client, stranger):
    grace = factory.customer()
    client.force_login(stranger)
    assert client.post(f"/customers/{grace.pk}/do-not-call/add/").status_code == 403
    assert not DoNotCall.objects.exists()
