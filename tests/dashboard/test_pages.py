"""Every dashboard page: staff only (anonymous → login, stranger → 403), and what it shows."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from calls.models import NO_SUMMARY, CallEvent
from tests import factory

pytestmark = pytest.mark.django_db


def pages(campaign, call, customer):
    return [
        "/campaigns/", "/campaigns/new/", f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/edit/",
        f"/campaigns/{campaign.pk}/board.json", "/calls/", "/calls/inbound/", f"/calls/{call.pk}/",
        f"/calls/{call.pk}/live.json", "/customers/", f"/customers/{customer.pk}/",
    ]


@pytest.fixture
def urls(campaign, live_call):
    return pages(campaign, live_call, live_call.customer)


def test_it_sends_anonymous_visitors_to_log_in(client, urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_it_refuses_a_signed_in_stranger(client, stranger, urls):
    client.force_login(stranger)
    for url in urls:
        assert client.get(url).status_code == 403, url


def test_it_serves_every_page_to_staff(staff_client, urls):
    for url in urls:
        assert staff_client.get(url).status_code == 200, url


def test_it_lists_campaigns_with_progress_outcomes_and_live_calls(staff_client, campaign, live_call):
    factory.lead(campaign, state="done", last_outcome="interested")
    factory.lead(campaign, state="done", last_outcome="no_answer")
    response = staff_client.get("/campaigns/")
    html = response.content.decode()
    assert "Summer sale" in html
    assert "2 / 3" in html  # done / total leads
    assert "Interested 1" in html and "No answer 1" in html
    assert '<td class="num" data-summary="live_calls">1</td>' in html
    assert "50%" in html  # one of two leads with an outcome picked up


def test_it_shows_the_live_board_on_the_campaign_page(staff_client, campaign, live_call):
    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'data-call-id="{live_call.pk}"' in html
    assert "In progress" in html
    assert "what&#x27;s this about?" in html  # the last transcript line
    assert 'id="chart-data"' in html
    assert "/static/vendor/uplot/uPlot.iife.min.js" in html


def test_the_board_catch_up_returns_live_calls_and_the_summary(staff_client, campaign, live_call):
    data = staff_client.get(f"/campaigns/{campaign.pk}/board.json").json()
    assert data["campaign"]["id"] == campaign.pk
    assert data["campaign"]["live_calls"] == 1
    assert [c["id"] for c in data["calls"]] == [live_call.pk]
    assert data["calls"][0]["last_line"]["text"] == "Oh hi, what's this about?"


def test_the_call_catch_up_returns_lines_after_the_last_one_seen(staff_client, live_call):
    first = live_call.transcript.order_by("offset_ms").first()
    data = staff_client.get(f"/calls/{live_call.pk}/live.json?after={first.pk}").json()
    assert [line["text"] for line in data["lines"]] == ["Oh hi, what's this about?"]
    assert data["call"]["status"] == "in-progress"
    assert [e["status"] for e in data["events"]] == ["in-progress"]


def test_the_call_page_shows_transcript_bubbles_timeline_and_metrics(staff_client, live_call):
    html = staff_client.get(f"/calls/{live_call.pk}/").content.decode()
    assert 'class="bubble bot"' in html and 'class="bubble caller"' in html
    assert "Hello Ada" in html
    assert 'id="timeline"' in html and "in-progress" in html
    assert "The recording appears here when the call ends." in html


def test_the_status_timeline_follows_twilios_order_with_the_answering_machine_result_where_it_came(
        staff_client, live_call):
    live_call.events.all().delete()
    start = timezone.now()
    for status, sequence, seconds in [("ringing", 1, 0.0), ("initiated", 0, 0.1), ("in-progress", 2, 2),
                                      ("amd", None, 4), ("completed", 3, 32)]:
        event = CallEvent.objects.create(call=live_call, call_status=status, sequence_number=sequence,
                                         params={})
        CallEvent.objects.filter(pk=event.pk).update(received_at=start + timedelta(seconds=seconds))
    html = staff_client.get(f"/calls/{live_call.pk}/").content.decode()
    timeline = html[html.index('id="timeline"'):]
    shown = [timeline.index(f"status-{status}") for status in
             ("initiated", "ringing", "in-progress", "amd", "completed")]
    assert shown == sorted(shown)


def test_the_call_page_reads_the_bot_sessions_figures_out_in_words(staff_client, live_call):
    # What botruntime's session writes for a call whose caller was never answered.
    live_call.metrics = {
        "caller_stop_to_bot_audio_ms": [], "caller_stop_to_bot_audio_median_ms": None,
        "ttfb_ms": {"stt": [0, 961], "tts": [0, 2388]}, "service_errors": {}, "interruptions": [],
        "marks_sent": 19, "marks_echoed": 19, "input_dropped": 0, "end_reason": "caller hung up",
        "session_failed": False, "duration_ms": 30340, "new_figure": 7}
    live_call.save(update_fields=["metrics"])
    html = staff_client.get(f"/calls/{live_call.pk}/").content.decode()
    card = html[html.index('id="call-latency"'):]
    card = card[:card.index("</table>")]
    for raw in ("None", "[]", "{}", "False", "{&#x27;"):
        assert raw not in card
    assert "none measured (the bot never answered a caller&#x27;s turn)" in card
    assert "speech recognition: median 480 ms, slowest 961 ms, of 2" in card
    assert "30.3 s" in card and "caller hung up" in card and "19 sent, 19 played to the caller" in card
    assert "New figure</th><td>7" in card  # a figure a newer bot runtime writes, as it is

    live_call.metrics |= {"caller_stop_to_bot_audio_ms": [820, 910, 840],
                          "interruptions": [{"heard_secs": 1.2, "words_heard": 3, "words": 12}]}
    live_call.save(update_fields=["metrics"])
    card = staff_client.get(f"/calls/{live_call.pk}/live.json").json()["html"]["call_latency"]
    assert "median 840 ms, slowest 910 ms, of 3" in card
    assert "after 1.2 s (3 of 12 words heard)" in card


@pytest.mark.parametrize(("fields", "note"), [
    ({"status": "busy"}, "No recording: the line was busy."),
    ({"status": "no-answer"}, "No recording: nobody answered."),
    ({"status": "completed", "answered_at": timezone.now()},
     "No recording: the call's audio never reached the bot."),
    ({"status": "completed", "answered_at": timezone.now(), "stream_sid": "MZ" + "1" * 32},
     "The bot is storing the recording…"),
    ({"status": "completed", "answered_at": timezone.now(), "stream_sid": "MZ" + "1" * 32,
      "summary": NO_SUMMARY}, "No recording: the bot's session ended before it stored one."),
    ({"status": "completed", "answered_at": timezone.now(), "stream_sid": "MZ" + "1" * 32,
      "summary": "Not interested."}, "No recording was stored for this call."),
])
def test_a_finished_call_without_a_recording_says_why(staff_client, campaign, fields, note):
    call = factory.call(factory.lead(campaign), **fields)
    html = staff_client.get(f"/calls/{call.pk}/").content.decode()
    assert escape(note) in html
    assert "The recording appears here" not in html
    assert escape(note) in staff_client.get(f"/calls/{call.pk}/live.json").json()["html"]["call_recording"]


def test_it_filters_and_searches_leads(staff_client, campaign):
    ada = factory.lead(campaign, state="done", last_outcome="interested",
                       customer=factory.customer(first_name="Grace", last_name="Hopper"))
    factory.lead(campaign, state="pending")
    url = f"/campaigns/{campaign.pk}/"

    def leads_shown(query: str) -> str:  # the Leads section (the test-call picker names leads too)
        return staff_client.get(url + query).content.decode().split('id="leads"', 1)[1]

    html = leads_shown("?state=done")
    assert "Grace" in html and "1 matching" in html
    assert "Grace" not in leads_shown("?state=pending")
    assert "Grace" in leads_shown("?q=hopper")
    assert "Grace" in leads_shown(f"?q={ada.customer.phone[-4:]}")
    assert "Grace" in leads_shown("?outcome=interested")


def test_a_lead_in_a_call_shows_no_next_attempt_but_one_waiting_to_retry_does(staff_client, campaign):
    due = timezone.now() + timedelta(minutes=5)
    calling = factory.lead(campaign, state="in_call", next_attempt_at=timezone.now() - timedelta(minutes=2),
                           timezone="America/New_York")
    waiting = factory.lead(campaign, state="retry", next_attempt_at=due, timezone="America/New_York")
    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()

    def next_attempt_cell(lead) -> str:
        row = html[html.index(f'<tr data-lead-id="{lead.pk}">'):]
        return row[:row.index("</tr>")].split("<td")[6]

    assert "<time" not in next_attempt_cell(calling) and "—" in next_attempt_cell(calling)
    assert f'datetime="{due.isoformat()}"' in next_attempt_cell(waiting)
    assert "their time" in next_attempt_cell(waiting)


def test_it_pages_through_leads_with_next_and_previous(staff_client, campaign):
    leads = [factory.lead(campaign) for _ in range(55)]
    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f"after={leads[49].pk}" in html
    page2 = staff_client.get(f"/campaigns/{campaign.pk}/?after={leads[49].pk}").content.decode()
    assert leads[54].customer.phone in page2 and leads[0].customer.phone not in page2
    assert f"before={leads[50].pk}" in page2


def test_it_lists_inbound_calls_with_their_routed_campaign(staff_client, campaign):
    lead = factory.lead(campaign)
    factory.call(lead, direction="inbound", from_number=lead.customer.phone, to_number="+12025550100")
    factory.call(direction="inbound", from_number="+12025559999", to_number="+12025550199")
    html = staff_client.get("/calls/inbound/").content.decode()
    assert "Summer sale" in html and "callback" in html
    assert "+12025559999" in html and "General assistant" in html
    callbacks_only = staff_client.get("/calls/inbound/?kind=callback").content.decode()
    assert "+12025559999" not in callbacks_only


def test_it_searches_customers_by_phone_and_name(staff_client):
    grace = factory.customer(first_name="Grace", last_name="Hopper", phone="+14155550111")
    factory.customer(first_name="Alan", last_name="Turing", phone="+14155550222")
    assert "Hopper" in staff_client.get("/customers/?q=grace").content.decode()
    assert "Turing" not in staff_client.get("/customers/?q=grace").content.decode()
    html = staff_client.get("/customers/?q=555-0111").content.decode()
    assert grace.phone in html and "Turing" not in html


def test_the_customer_page_shows_calls_across_campaigns(staff_client):
    grace = factory.customer(first_name="Grace")
    first, second = factory.campaign(name="Spring"), factory.campaign(name="Autumn")
    factory.call(factory.lead(first, customer=grace))
    factory.call(factory.lead(second, customer=grace))
    html = staff_client.get(f"/customers/{grace.pk}/").content.decode()
    assert "Spring" in html and "Autumn" in html


def test_it_filters_the_call_list(staff_client, campaign, live_call):
    other = factory.call(factory.lead(factory.campaign(name="Winter")), status="completed")
    html = staff_client.get(f"/calls/?campaign={campaign.pk}").content.decode()
    assert f"/calls/{live_call.pk}/" in html and f"/calls/{other.pk}/" not in html
    html = staff_client.get("/calls/?status=live").content.decode()
    assert f"/calls/{live_call.pk}/" in html and f"/calls/{other.pk}/" not in html
    assert f"/calls/{live_call.pk}/" in staff_client.get(f"/calls/?q={live_call.call_sid}").content.decode()


def test_it_404s_for_a_campaign_that_does_not_exist(staff_client):
    assert staff_client.get("/campaigns/999999/").status_code == 404
