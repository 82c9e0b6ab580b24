"""Every staff page works for people who use a keyboard or a screen reader: axe-core finds
no serious or critical violation (labels, contrast, names of links and buttons, table
headers …) on any page, with live data on it; and the campaign page can be run by keyboard."""

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from calls.models import ApiToken, Listening
from campaigns.models import CallerNumber, Campaign, Lead
from campaigns.webhooks.models import Delivery, Endpoint, Event
from dialer_site.staff.models import StaffProfile
from tests import factory
from tests.dashboard.accessibility import blocking_violations
from tests.dashboard.browser import log_in, screenshot
from tests.imports.conftest import import_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_no_page_has_a_serious_accessibility_violation(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running", caller_id_daily_cap=50)
    # A caller-ID pool, one number refused: the campaign page's table, the edit page's choices.
    CallerNumber.objects.create(campaign=campaign, phone_number="+13125550100", friendly_name="Chicago",
                                last_used_at=timezone.now())
    CallerNumber.objects.create(campaign=campaign, phone_number="+14155550100", refused_at=timezone.now(),
                                refused_reason="The caller ID is not a verified number (Twilio error 21210)")
    grace = factory.customer(first_name="Grace", last_name="Hopper", timezone="America/Chicago")
    lead = factory.lead(campaign, customer=grace, state="retry", attempts=1,
                        last_outcome="callback_requested",
                        timezone="America/Chicago", callback_at=timezone.now())
    factory.lead(campaign, state="done", last_outcome="interested", attempts=1)
    call = factory.answer(factory.call(lead))
    factory.line(call, "bot", "Hello Grace, this is the assistant from Spring renewals.", 400)
    factory.line(call, "caller", "Call me back tomorrow at ten.", 2400)
    ended = factory.call(lead, status="completed", disposition="callback_requested", duration_seconds=31,
                         summary="Asked to be called back.", metrics={"first_response_ms": 820})
    done = import_now("phone\n+12025550101\n555-12\n", campaign)
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{server.url}/accounts/login/")
    problems = {"/accounts/login/": blocking_violations(page)}
    log_in(page, server.url, "boss", "pw-boss-12345")
    pages = ["/campaigns/", f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/edit/",
             f"/campaigns/{campaign.pk}/script/",
             "/campaigns/new/", "/calls/", f"/calls/{call.pk}/", f"/calls/{ended.pk}/", "/calls/inbound/",
             f"/campaigns/{campaign.pk}/talk/", "/calls/?test=yes",
             "/customers/", f"/customers/{grace.pk}/", "/imports/", f"/imports/{done.pk}/", "/account/",
             "/system/", "/api/v1/docs/"]
    for path in pages:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        problems[path] = blocking_violations(page)
    # The mapping step, reached as staff reach it: by uploading a file.
    page.goto(f"{server.url}/imports/")
    page.set_input_files("input[type=file]", files=[{
        "name": "crm.csv", "mimeType": "text/csv", "buffer": b"Mobile;Vorname;tz\n202-555-0101;Ann;\n"}])
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url("**/mapping/")
    problems["/imports/<id>/mapping/"] = blocking_violations(page)
    found = {path: lines for path, lines in problems.items() if lines}
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())


def test_the_api_docs_pass_axe_as_staff_use_them(server, chrome, boss):
    """Swagger UI draws most of the page as it is used: each state is checked."""
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    page.goto(f"{server.url}/api/v1/docs/")
    page.wait_for_selector(".opblock")
    problems = {"open": blocking_violations(page)}
    page.click("#operations-calls-calls_create button.opblock-summary-control")
    page.click("button.try-out__btn")
    problems["trying POST /api/v1/calls/"] = blocking_violations(page)
    page.click("button.authorize")
    page.wait_for_selector(".modal-ux")
    problems["the Authorize dialog"] = blocking_violations(page)
    page.click("button.close-modal")
    page.click("button.execute")
    page.wait_for_selector(".responses-wrapper .live-responses-table")
    problems["its response (401)"] = blocking_violations(page)
    screenshot(page, "a11y-api-docs-response")
    found = {state: lines for state, lines in problems.items() if lines}
    assert not found, "\n".join(f"{state}:\n  " + "\n  ".join(lines) for state, lines in found.items())


# Tab through the page: every control a mouse can use is reached, and each shows an outline.
MARK_CONTROLS = """() => {
    const shown = (el) => el.offsetParent !== null || getComputedStyle(el).position === 'fixed';
    const controls = [...document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, summary, audio[controls]')]
        .filter((el) => !el.disabled && el.tabIndex >= 0 && shown(el));
    controls.forEach((el, i) => { el.dataset.tabProbe = i; });
    return controls.map((el) => el.outerHTML.slice(0, 100));
}"""
FOCUSED = """() => {
    const el = document.activeElement, style = getComputedStyle(el);
    const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    return {probe: el.closest('[data-tab-probe]')?.dataset.tabProbe ?? null, html: el.outerHTML.slice(0, 100),
            visible: outlined || style.boxShadow !== 'none'};
}"""


def tab_through(page) -> list[str]:
    """Problems: controls Tab never reaches, and focused controls with no visible focus."""
    controls = page.evaluate(MARK_CONTROLS)
    reached, unseen, last = set(), [], None
    page.evaluate("document.activeElement.blur()")
    # A date or time input takes a Tab per part (month, day, year …): room for those.
    for _ in range(4 * len(controls) + 10):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["probe"] == last:
            continue  # the next part of the same input
        if focused["probe"] in reached or focused["html"].startswith("<body"):
            break  # past the last control: round again, or out to the browser
        last = focused["probe"]
        if last is None:
            continue
        reached.add(last)
        if not focused["visible"]:
            unseen.append(f"no visible focus: {focused['html']}")
    missed = [html for i, html in enumerate(controls) if str(i) not in reached]
    return unseen + [f"not reached by Tab: {html}" for html in missed]


def test_every_control_is_reached_by_keyboard_and_shows_its_focus(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running")
    lead = factory.lead(campaign, state="retry", callback_at=timezone.now())
    call = factory.call(lead, status="completed", disposition="interested", duration_seconds=31)
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    problems = {}
    for path in ["/campaigns/", f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/edit/",
                 f"/campaigns/{campaign.pk}/script/", f"/calls/{call.pk}/", "/system/",
                 "/admin/", "/admin/campaigns/lead/", f"/admin/campaigns/lead/{lead.pk}/change/"]:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        problems[path] = tab_through(page)
    found = {path: lines for path, lines in problems.items() if lines}
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())


def test_a_campaign_can_be_paused_by_keyboard(server, chrome, boss):
    campaign = factory.campaign(name="Spring renewals", status="running")
    factory.lead(campaign)
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, server.url, "boss", "pw-boss-12345")
    page.goto(f"{server.url}/campaigns/{campaign.pk}/")
    page.wait_for_selector("#live-state.live")
    # The first Tab reaches the skip link; following it lands on the page's own content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == "Pause reason":
            break
    page.keyboard.type("Lunch break")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_selector("h1 .badge.status-paused")
    screenshot(page, "a11y-paused-by-keyboard")
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == ("paused", "Lunch break")



def every_admin_page(user) -> list[str]:
    """The admin's index, and for each model it lists: the changelist, the add form if it has
    one, and for its first row the change (or view) form, the history (with an entry in it)
    and the delete confirmation where the admin offers one."""
    request = RequestFactory().get("/admin/")
    request.user = user
    paths = ["/admin/", "/admin/password_change/"]
    for app in admin.site.get_app_list(request):
        for model in app["models"]:
            paths += [model["admin_url"]] + ([model["add_url"]] if model["add_url"] else [])
            row = model["model"]._default_manager.order_by("pk").first()
            assert row is not None, f"no {model['object_name']} to open in the admin"
            LogEntry.objects.log_actions(user.pk, [row], CHANGE, "Checked the details.", single_object=True)
            meta = model["model"]._meta
            name = f"admin:{meta.app_label}_{meta.model_name}"
            paths += [reverse(f"{name}_change", args=[row.pk]), reverse(f"{name}_history", args=[row.pk])]
            if admin.site.get_model_admin(model["model"]).has_delete_permission(request, row):
                paths.append(reverse(f"{name}_delete", args=[row.pk]))
    return paths


def one_of_every_row(boss) -> None:
    """A row of each model the admin lists, filled in as in the demo."""
    campaign = factory.campaign(name="Spring renewals", status="running")
    lead = factory.lead(campaign, state="retry", attempts=1, last_outcome="callback_requested",
                        callback_at=timezone.now())
    call = factory.answer(factory.call(lead))
    factory.line(call, "bot", "Hello, this is the assistant from Spring renewals.", 400)
    factory.line(call, "caller", "Call me back tomorrow at ten.", 2400)
    Listening.objects.create(call=call, user=boss, username=boss.username)
    factory.do_not_call("+12025550199", reason="asked by email")
    import_now("phone\n+12025550101\n555-12\n", campaign)
    token = ApiToken(name="CRM", created_by=boss)
    token.set_new_token()
    token.save()
    endpoint = Endpoint.objects.create(url="https://crm.example.com/hooks", events=["call.ended"])
    event = Event.objects.create(type="call.ended", campaign=campaign, subject=str(call.pk), body="{}")
    Delivery.objects.create(event=event, endpoint=endpoint)
    StaffProfile.objects.create(user=boss, time_zone="America/Chicago")
    supervisors = Group.objects.create(name="Supervisors")
    supervisors.permissions.set(Permission.objects.filter(codename__startswith="view_"))


def test_no_admin_page_has_a_serious_accessibility_violation(server, chrome, boss):
    one_of_every_row(boss)
    page = chrome.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{server.url}/admin/login/")
    problems = {"/admin/login/": blocking_violations(page)}
    log_in(page, server.url, "boss", "pw-boss-12345")
    for path in every_admin_page(boss):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        problems[path] = blocking_violations(page)
    found = {path: lines for path, lines in problems.items() if lines}
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())
    assert len(problems) > 60  # every model's pages were visited, not just the index
    assert sum(path.endswith("/delete/") for path in problems) >= 10
    page.goto(f"{server.url}/admin/campaigns/lead/{Lead.objects.earliest('pk').pk}/change/")
    # A split date and time: each input named by its own label, the pair by the field's.
    assert page.get_by_role("group", name="Next attempt at:").get_by_label("Date:").is_visible()
    screenshot(page, "a11y-admin-lead-change")
    campaign = Campaign.objects.earliest("pk")
    page.goto(f"{server.url}/admin/campaigns/campaign/{campaign.pk}/history/")
    screenshot(page, "a11y-admin-campaign-history")
    # The entry's time names its zone: the staff member's.
    assert page.locator("#change-history tbody th").first.inner_text().endswith(" CST")
    page.goto(f"{server.url}/admin/campaigns/campaign/{campaign.pk}/delete/")
    screenshot(page, "a11y-admin-campaign-delete")
