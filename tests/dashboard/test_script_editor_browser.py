"""The script editor in a browser: a script goes out as JSON and comes back through the
editor unchanged; a rule added with "Add a rule" is saved; a broken rule is refused with the
step named; the preview speaks to the chosen lead; and the page passes axe-core."""

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
    page.fill("#id_rules-3-keywords", "wrong number")
    page.select_option("#id_rules-3-disposition", "wrong_number")
    page.fill("#id_rules-3-reply", "Sorry to bother you, {{ first_name }}.")
    page.select_option("#id_rules-3-then", "end")
    page.click("button[value=preview]")
    preview = page.locator(".script-preview").inner_text()
    assert "Would you like to hear about the gold plan?" in preview
    assert "Sorry to bother you, Dana." in preview
    page.click("button[value=save]")
    page.wait_for_selector("text=Script saved")
    target.refresh_from_db()
    assert target.script["rules"][3] == {"keywords": ["wrong number"], "disposition": "wrong_number",
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
