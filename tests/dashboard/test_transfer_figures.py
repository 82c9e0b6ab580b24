"""Hand-offs to a person as staff and scripts see them: each agent rung on the call's
timeline (and the agent's own leg linked both ways), who answered on the call's page, the
campaign's transfer rate and agent answer rate on its page and in the API's stats, and
who took each lead's call in the results export and the API's call detail."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import ApiToken, Call, TransferAttempt
from campaigns.models import Disposition
from tests import factory
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

AGENT_1, AGENT_2 = "+12025550181", "+12025550182"


def attempt(call: Call, target: str, status: str, **fields) -> TransferAttempt:
    return TransferAttempt.objects.create(call=call, target=target, mode="cold", requested_by="bot",
                                          reason="interested", status=status, **fields)


@pytest.fixture
def campaign(db):
    """Five calls: Ann's handed off (the first agent did not answer, the second did), Bob's
    handed off to nobody, Cleo's kept by the bot, a machine, and a call nobody answered."""
    campaign = factory.campaign(name="Spring renewals", transfer_targets=[AGENT_1, AGENT_2])
    ann, bob, cleo, machine = (factory.answer(factory.call(factory.lead(campaign, factory.customer(phone))))
                               for phone in ("+12025550111", "+12025550112", "+12025550113", "+12025550114"))
    started = timezone.now()
    attempt(ann, AGENT_1, "no_answer", ended_at=started)
    attempt(ann, AGENT_2, "answered", answered_at=started + timedelta(seconds=25), duration_secs=95,
            agent_call_sid="CA" + "a" * 32)
    Call.objects.filter(pk=ann.pk).update(disposition=Disposition.TRANSFERRED, transferred_to=AGENT_2,
                                          status="completed")
    attempt(bob, AGENT_1, "busy")
    Call.objects.filter(pk=machine.pk).update(answered_by="machine_end_beep")
    factory.call(factory.lead(campaign), status="no-answer")
    # A warm hand-off's agent leg is a call of its own, but no campaign call: it counts nowhere.
    factory.answer(factory.call(campaign=campaign, transfer_of=bob, to_number=AGENT_1))
    campaign.ann, campaign.bob, campaign.cleo = ann, bob, cleo
    return campaign


def test_the_call_page_shows_each_agent_rung_and_who_answered(staff_client, campaign):
    page = staff_client.get(f"/calls/{campaign.ann.pk}/").content.decode()

    assert f'Transferred to: <strong class="mono">{AGENT_2}</strong>' in page
    assert (f'cold transfer to <span class="mono">{AGENT_1}</span> '
            '<span class="badge transfer-no_answer">No answer</span>') in page
    assert (f'cold transfer to <span class="mono">{AGENT_2}</span> '
            '<span class="badge transfer-answered">Answered</span>') in page
    assert "asked by the bot: interested · 95 s with the agent" in page


def test_a_warm_hand_offs_agent_leg_and_the_callers_call_link_to_each_other(staff_client, campaign):
    leg = Call.objects.get(transfer_of=campaign.bob)
    TransferAttempt.objects.filter(call=campaign.bob).update(mode="warm", agent_call=leg)

    caller_page = staff_client.get(f"/calls/{campaign.bob.pk}/").content.decode()
    assert f'<a href="/calls/{leg.pk}/">the agent\'s leg</a>' in caller_page
    leg_page = staff_client.get(f"/calls/{leg.pk}/").content.decode()
    assert f'The agent\'s leg of a warm transfer: <a href="/calls/{campaign.bob.pk}/">' in leg_page


def test_a_take_over_names_who_took_it(staff_client, campaign):
    TransferAttempt.objects.filter(call=campaign.bob).update(requested_by="alice",
                                                             reason="taken over by alice")
    assert "taken over by alice</span>" in staff_client.get(f"/calls/{campaign.bob.pk}/").content.decode()


def test_the_campaign_page_shows_the_transfer_rate_and_the_agent_answer_rate(staff_client, campaign):
    response = staff_client.get(f"/campaigns/{campaign.pk}/")

    assert response.context["transfers"] == {
        "answered": 3, "handed_off": 2, "transferred": 1, "transfer_rate": 67,
        "agents_rung": 3, "agents_answered": 1, "agent_answer_rate": 33}
    figures = response.content.decode()
    assert '<div class="label">Transfer rate</div><div class="value">67%</div>' in figures
    assert "2 of 3 answered calls handed to a person; agents answered 33% (1 of 3 rung)" in figures


def test_a_campaign_without_hand_offs_shows_no_rates(staff_client):
    quiet = factory.campaign(name="Quiet")
    figures = staff_client.get(f"/campaigns/{quiet.pk}/").content.decode()
    assert '<div class="label">Transfer rate</div><div class="value">—</div>' in figures
    assert "agents answered — (none rung)" in figures


def test_the_api_gives_the_transfer_figures_and_who_took_a_call(campaign):
    api = Api(ApiToken.issue("CRM")[1])

    stats = api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()
    assert {key: stats[key] for key in ("calls_answered", "calls_handed_off", "calls_transferred",
                                        "transfer_rate", "agents_rung", "agents_answered",
                                        "agent_answer_rate")} == {
        "calls_answered": 3, "calls_handed_off": 2, "calls_transferred": 1, "transfer_rate": 67,
        "agents_rung": 3, "agents_answered": 1, "agent_answer_rate": 33}

    detail = api.get(f"/api/v1/calls/{campaign.ann.pk}/").json()
    assert (detail["outcome"], detail["transferred_to"]) == ("transferred", AGENT_2)
    assert [(t["target"], t["status"], t["requested_by"]) for t in detail["transfers"]] == [
        (AGENT_1, "no_answer", "bot"), (AGENT_2, "answered", "bot")]
    assert detail["transfers"][1]["duration_secs"] == 95
    listed = api.get("/api/v1/calls/", {"campaign": campaign.pk}).json()["results"]
    assert {call["transferred_to"] for call in listed} == {AGENT_2, ""}
    assert Call.objects.get(transfer_of=campaign.bob).pk not in [call["id"] for call in listed]


def test_the_results_export_names_who_took_each_leads_call(staff_client, campaign):
    response = staff_client.get(f"/campaigns/{campaign.pk}/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    taken = {row["phone"]: row["transferred_to"] for row in rows}
    assert taken.pop("'+12025550111") == "'" + AGENT_2  # written safe for spreadsheets, as phones are
    assert len(taken) == 4 and set(taken.values()) == {""}
