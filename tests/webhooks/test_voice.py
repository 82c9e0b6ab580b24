import logging
import xml.etree.ElementTree as ET

import pytest

from calls.models import Call
from tests import factory

pytestmark = pytest.mark.django_db

SID = "CA" + "a" * 32


def inbound(**overrides):
    return {"CallSid": SID, "AccountSid": "AC" + "0" * 32, "From": "+12025550123",
            "To": "+12025550000", "CallStatus": "ringing", "Direction": "inbound", **overrides}


def stream_of(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    stream = ET.fromstring(response.content).find("./Connect/Stream")
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    return stream.get("url"), parameters


def test_it_connects_an_unknown_caller_to_the_general_assistant(twilio_post):
    url, parameters = stream_of(twilio_post("/twilio/voice/", inbound()))
    call = Call.objects.get(call_sid=SID)
    assert url == "wss://dialer.example.com/twilio/stream/"
    assert parameters == {"call_id": str(call.pk), "call_type": "inbound",
                          "caller_id": "+12025550123", "session_type": "general"}
    assert call.direction == Call.Direction.INBOUND and call.customer is None


def test_it_connects_a_returning_caller_to_the_campaign_that_called_them(twilio_post):
    campaign = factory.campaign(slug="summer_sale", caller_id="+12025550999")
    customer = factory.customer("+12025550123", first_name="Ann", last_name="Lee")
    factory.lead(campaign, customer, parameters={"plan": "gold"})

    # They call back the number they see on their phone, or any other of ours.
    _, parameters = stream_of(twilio_post("/twilio/voice/", inbound(To="+12025550777")))

    call = Call.objects.get(call_sid=SID)
    assert (call.customer, call.campaign) == (customer, campaign)
    assert parameters["customer_id"] == str(customer.pk)
    assert parameters["campaign_id"] == "summer_sale"
    assert parameters["customer_name"] == "Ann Lee"
    assert parameters["session_type"] == "sales"
    assert parameters["callback"] == "true"
    assert parameters["plan"] == "gold"
    assert parameters["user_id"] == str(customer.pk)


def test_the_dialled_number_picks_the_campaign(twilio_post):
    factory.campaign(name="Old", caller_id="+12025550111")
    wanted = factory.campaign(name="Winter", caller_id="+12025550222")
    _, parameters = stream_of(twilio_post("/twilio/voice/", inbound(To="+12025550222")))
    assert parameters["campaign_id"] == str(wanted.pk)
    assert Call.objects.get(call_sid=SID).campaign == wanted


def test_a_known_customer_without_a_campaign_gets_support(twilio_post):
    factory.customer("+12025550123", attributes={"user_id": "u-77"})
    _, parameters = stream_of(twilio_post("/twilio/voice/", inbound()))
    assert parameters["session_type"] == "support"
    assert parameters["user_id"] == "u-77"


def test_a_retried_webhook_reuses_the_call(twilio_post):
    twilio_post("/twilio/voice/", inbound())
    twilio_post("/twilio/voice/", inbound())
    assert Call.objects.filter(call_sid=SID).count() == 1


def test_contact_columns_cannot_shadow_the_call_id(twilio_post):
    campaign = factory.campaign(name="Sale", caller_id="+12025550999")
    factory.lead(campaign, factory.customer("+12025550123"), parameters={"call_id": "999999"})
    _, parameters = stream_of(twilio_post("/twilio/voice/", inbound()))
    assert parameters["call_id"] == str(Call.objects.get(call_sid=SID).pk)


@pytest.mark.parametrize("signature", ["", "forged-signature="])
def test_it_refuses_an_unsigned_or_forged_call_and_stores_nothing(client, signature, caplog):
    headers = {"X-Twilio-Signature": signature} if signature else {}
    with caplog.at_level(logging.WARNING, logger="calls.twilio_auth"):
        response = client.post("/twilio/voice/", inbound(), headers=headers)
    assert response.status_code == 403
    assert not Call.objects.exists()
    assert "Refused a Twilio webhook" in caplog.text


def test_a_signature_for_other_parameters_is_refused(twilio_post):
    from tests.webhooks.conftest import twilio_signature

    signature = twilio_signature("/twilio/voice/", inbound(From="+12025550100"))
    assert twilio_post("/twilio/voice/", inbound(), signature=signature).status_code == 403
    assert not Call.objects.exists()


def test_it_refuses_a_malformed_call_with_400_and_stores_nothing(twilio_post):
    response = twilio_post("/twilio/voice/", inbound(CallSid="not-a-sid"))
    assert response.status_code == 400
    assert b"CallSid" in response.content
    assert not Call.objects.exists()


def test_it_answers_only_post(client):
    assert client.get("/twilio/voice/").status_code == 405


def test_a_status_callback_that_arrives_first_does_not_stop_the_routing(twilio_post):
    factory.customer("+12025550123", first_name="Ann")
    twilio_post("/twilio/status/", {"CallSid": SID, "CallStatus": "ringing", "Direction": "inbound",
                                    "From": "+12025550123", "To": "+12025550000", "SequenceNumber": "0"})
    _, parameters = stream_of(twilio_post("/twilio/voice/", inbound()))
    call = Call.objects.get(call_sid=SID)
    assert call.customer.first_name == "Ann" and parameters["customer_id"] == str(call.customer_id)
    assert call.events.count() == 1
