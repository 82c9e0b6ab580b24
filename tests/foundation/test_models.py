import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from calls.models import Call
from campaigns.models import Campaign, Customer, DoNotCall, Lead

pytestmark = pytest.mark.django_db


def test_it_refuses_a_customer_phone_that_is_not_e164_with_a_clear_message():
    customer = Customer(phone="555-1234", first_name="Ann")
    with pytest.raises(ValidationError) as error:
        customer.full_clean()
    assert "E.164" in str(error.value.message_dict["phone"])


def test_the_database_itself_refuses_a_non_e164_phone():
    with pytest.raises(IntegrityError):
        Customer.objects.create(phone="02079460000")


def test_it_refuses_two_customers_with_one_phone():
    Customer.objects.create(phone="+12025550101")
    with pytest.raises(IntegrityError):
        Customer.objects.create(phone="+12025550101")


def test_it_refuses_a_duplicate_call_sid():
    Call.objects.create(direction=Call.Direction.OUTBOUND, call_sid="CA" + "1" * 32)
    with pytest.raises(IntegrityError):
        Call.objects.create(direction=Call.Direction.INBOUND, call_sid="CA" + "1" * 32)


def test_calls_not_yet_placed_may_share_an_empty_call_sid():
    Call.objects.create(direction=Call.Direction.OUTBOUND)
    Call.objects.create(direction=Call.Direction.OUTBOUND)
    assert Call.objects.filter(call_sid__isnull=True).count() == 2


def test_a_customer_is_in_a_campaign_only_once():
    campaign = Campaign.objects.create(name="Summer sale")
    customer = Customer.objects.create(phone="+12025550102")
    Lead.objects.create(campaign=campaign, customer=customer)
    with pytest.raises(IntegrityError):
        Lead.objects.create(campaign=campaign, customer=customer)


def test_do_not_call_is_read_from_the_list():
    customer = Customer.objects.create(phone="+12025550103")
    assert not customer.do_not_call
    DoNotCall.objects.create(phone="+12025550103", source="staff")
    assert customer.do_not_call
    assert Customer.objects.with_do_not_call().get(pk=customer.pk).on_do_not_call


def test_a_campaign_needs_at_least_one_attempt():
    with pytest.raises(IntegrityError):
        Campaign.objects.create(name="Broken", max_attempts=0)
