"""The script editor in a browser: a script goes out as JSON and comes back through the
editor unchanged; a rule added with "Add a rule" is saved; a broken rule is refused with the
step named; the preview speaks to the chosen lead; keypad keys and transfers are set in the
page and a broken keypad is refused naming the key; and the page passes axe-core."""

import json

import pytest

from botruntime.script import merged_script
from campaigns.models import Campaign
from tests import factory
from tests.dashboard.accessibility import blocking_violations
from tests.dashboard.browser import log_in, screenshot
from tests.dashboard.test_script_editor import SCRIPT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_editor_round_trips_a_script_and_refuses_a_broken_one(server, chrome, boss):
    source = factory.campaign(name="Spring renewals", script=SCRIPT)
    target = factory.campaign(name="Autumn renewals")
    factory.lead(target, customer=factory.customer(first_name="Dana"), parameters={"plan": "gold"})
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")

    # Out of one campaign as JSON, into another through the editor.
    exported = page.request.get(f"{server.url}/campaigns/{source.pk}/script.json").text()
    page.goto(f"{server.url}/campaigns/{target.pk}/script/")
    page.fill("#id_script_json", exported)
    page.click("button[value=import]")
    page.wait_for_selector("text=Script imported into the editor")
    assert page.input_value("#id_rules-1-keywords") == "call me back"
    page.fill("#id_greeting", "Hello {{ first_name }}.")
    page.click("button[value=save]")
    page.wait_for_selector("text=Script saved")
    target.refresh_from_db()
    assert target.script == merged_script(SCRIPT)  # the export names the defaults too

    # A rule added in the page, then the preview for Dana.
    page.click("button[data-add=rules]")
    page.fill("#id_rules-4-keywords", "wrong number")
    page.select_option("#id_rules-4-disposition", "wrong_number")
    page.fill("#id_rules-4-reply", "Sorry to bother you, {{ first_name }}.")
    page.select_option("#id_rules-4-then", "end")
    page.click("button[value=preview]")
    preview = page.locator(".script-preview").inner_text()
    assert "Would you like to hear about the gold plan?" in preview
    assert "Sorry to bother you, Dana." in preview
    page.click("button[value=save]")
    page.wait_for_selector("text=Script saved")
    target.refresh_from_db()
    assert target.script["rules"][4] == {"keywords": ["wrong number"], "disposition": "wrong_number",
                                         "reply": "Sorry to bother you, {{ first_name }}.", "end": True}

    # A rule that could never match is refused, naming it; nothing is saved.
    page.fill("#id_rules-0-keywords", "")
    page.fill("#id_rules-0-examples", "")
    page.click("button[value=save]")
    alert = page.locator("#script-problems").inner_text()
    assert 'Rule 1: give at least one keyword or example' in alert
    assert Campaign.objects.get(pk=target.pk).script == target.script
    assert blocking_violations(page) == []
    screenshot(page, "script-editor-refused")
    exported = page.request.get(f"{server.url}/campaigns/{target.pk}/script.json").text()
    assert json.loads(exported) == target.script


def test_keypad_keys_and_transfers_are_set_in_the_editor(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals")
    factory.lead(campaign, customer=factory.customer(first_name="Dana"))
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")

    # A keypad that names no real action is refused, naming the key; nothing is imported.
    page.goto(f"{server.url}/campaigns/{campaign.pk}/script/")
    page.fill("#id_script_json", json.dumps({"keypad": {"1": "transfer", "7": "dance"}}))
    page.click("button[value=import]")
    assert "Key 7: unknown action 'dance'" in page.locator("#import").inner_text()

    # Key 1 and the "a person" rule hand the call to a person; the preview says the words.
    page.select_option("#id_keypad-key_1", "transfer")
    page.select_option("#id_keypad-key_9", "do_not_call")
    page.click("button[data-add=rules]")
    number = len(merged_script({})["rules"])
    page.fill(f"#id_rules-{number}-keywords", "a person, an agent")
    page.fill(f"#id_rules-{number}-reply", "Of course, {{ first_name }}.")
    page.select_option(f"#id_rules-{number}-then", "transfer")
    page.fill("#id_transfer_reply", "Hold on while I find a colleague.")
    page.click("button[value=preview]")
    preview = page.locator(".script-preview").inner_text()
    # The default script's own "a person" rule is previewed too: look for this rule's words.
    assert "Of course, Dana. Hold on while I find a colleague." in " ".join(preview.split())
    assert "Outside agent hours" in preview and "No agent answers" in preview
    page.click("button[value=save]")
    page.wait_for_selector("text=Script saved")
    campaign.refresh_from_db()
    assert campaign.script["keypad"] == {"1": "transfer", "9": "do_not_call"}
    assert campaign.script["rules"][number] == {
        "keywords": ["a person", "an agent"], "reply": "Of course, {{ first_name }}.", "end": False,
        "transfer": True}
    assert campaign.script["transfer_reply"] == "Hold on while I find a colleague."
    assert page.input_value("#id_keypad-key_1") == "transfer"
    assert blocking_violations(page) == []
    screenshot(page, "script-editor-keypad")
