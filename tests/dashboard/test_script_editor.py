"""The script editor: the lite and natural stacks' script as a form — greeting, questions,
rules and what they lead to, goodbyes — refused with the step named when it is broken, a
preview of what the bot says to one lead, and JSON export and import."""

import json

import pytest

from botruntime.script import DEFAULT_SCRIPT, merged_script
from campaigns.script_forms import EDITED_KEYS, TRANSFER_TEXTS, KeypadForm, RuleForm
from tests import factory

pytestmark = pytest.mark.django_db

SCRIPT = {
    "questions": ["Would you like to hear about the {{ plan }} plan?", "Shall I book a visit?"],
    "rules": [
        {"keywords": ["not interested"], "examples": ["no thanks"], "disposition": "not_interested",
         "reply": "Understood, {{ first_name }}.", "end": True},
        {"keywords": ["call me back"], "disposition": "callback_requested", "reply": "I will call you then.",
         "end": True, "callback": True},
        {"keywords": ["yes"], "disposition": "interested", "reply": "Great.", "end": False,
         "followup": {"reply": "Putting you through to a specialist.", "end": False, "transfer": True}},
        {"keywords": ["a person"], "examples": ["can I talk to someone"], "reply": "Of course.", "end": False,
         "transfer": True},
    ],
    "fallback": "Sorry?", "max_fallbacks": 1, "goodbye": "Bye {{ first_name }}.",
    "goodbye_keywords": ["bye"], "idle_goodbye": "Are you there? Bye.", "trouble_goodbye": "Trouble. Bye.",
    "answer_timeout_secs": 6, "vocabulary": ["gold plan"],
    "keypad": {"1": "transfer", "9": "do_not_call", "#": "repeat"},
    "transfer_reply": "One moment, {{ first_name }}.",
    "agents_closed_reply": "Our team is back {{ agents_open }}. When shall we call you?",
    "agent_unavailable_reply": "Nobody could answer, sorry. When shall we call you?",
    "briefing": "{{ first_name }} is waiting: {{ reason }}. {{ summary }}",
}


def then(step: dict) -> str:
    return "transfer" if step.get("transfer") else "end" if step.get("end") else "next"


def editor_post(script: dict, greeting: str = "Hello {{ first_name }}.", action: str = "save",
                **extra) -> dict:
    """The editor's form as a browser posts it for this script."""
    data = {"action": action, "greeting": greeting,
            "questions-TOTAL_FORMS": str(len(script["questions"])), "questions-INITIAL_FORMS": "0",
            "rules-TOTAL_FORMS": str(len(script["rules"])), "rules-INITIAL_FORMS": "0"}
    for i, question in enumerate(script["questions"]):
        data[f"questions-{i}-text"] = question
    for i, rule in enumerate(script["rules"]):
        followup = rule.get("followup", {})
        data |= {f"rules-{i}-keywords": ", ".join(rule.get("keywords", [])),
                 f"rules-{i}-examples": "\n".join(rule.get("examples", [])),
                 f"rules-{i}-disposition": rule.get("disposition", ""), f"rules-{i}-reply": rule["reply"],
                 f"rules-{i}-then": then(rule),
                 f"rules-{i}-followup_reply": followup.get("reply", ""),
                 f"rules-{i}-followup_then": then(followup)}
        if rule.get("callback"):
            data[f"rules-{i}-callback"] = "on"
        data[f"rules-{i}-kept"] = json.dumps({k: v for k, v in rule.items() if k not in RuleForm.OWNED_KEYS})
    for key in ("fallback", "max_fallbacks", "goodbye", "idle_goodbye", "trouble_goodbye",
                "answer_timeout_secs"):
        data[key] = str(script[key])
    for key in TRANSFER_TEXTS:
        data[key] = merged_script(script)[key]
    for key, action in script.get("keypad", {}).items():
        data[f"keypad-{KeypadForm.FIELD_NAMES[key]}"] = action
    data["goodbye_keywords"] = ", ".join(script["goodbye_keywords"])
    data["vocabulary"] = "\n".join(script["vocabulary"])
    data["kept"] = json.dumps({k: v for k, v in script.items() if k not in EDITED_KEYS})
    return data | extra


def test_it_saves_the_script_the_form_describes(staff_client, campaign):
    response = staff_client.post(f"/campaigns/{campaign.pk}/script/", editor_post(SCRIPT))

    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/script/"
    campaign.refresh_from_db()
    assert campaign.script == SCRIPT
    assert campaign.greeting_template == "Hello {{ first_name }}."


def test_it_shows_a_saved_script_in_the_form_and_saves_it_back_unchanged(staff_client, campaign):
    campaign.script = {**SCRIPT, "idle_timeout_secs": 20}  # a key the editor has no field for
    campaign.save()
    page = staff_client.get(f"/campaigns/{campaign.pk}/script/")
    editor = page.context["editor"]
    shown = editor.form.initial
    assert (shown["goodbye_keywords"], shown["vocabulary"], shown["max_fallbacks"]) == ("bye", "gold plan", 1)
    assert [f["text"] for f in editor.questions.initial] == SCRIPT["questions"]
    assert editor.rules.initial[1] == {
        "keywords": "call me back", "examples": "", "disposition": "callback_requested",
        "reply": "I will call you then.", "then": "end", "callback": True, "followup_reply": "",
        "followup_then": "next", "kept": {}}

    assert shown["kept"]["idle_timeout_secs"] == 20  # carried in a hidden field

    staff_client.post(f"/campaigns/{campaign.pk}/script/", editor_post(campaign.script))
    campaign.refresh_from_db()
    assert campaign.script == {**SCRIPT, "idle_timeout_secs": 20}


def test_a_rules_settings_the_form_has_no_field_for_are_saved_back_unchanged(staff_client, campaign):
    means = {**SCRIPT["rules"][0], "means": "not interested, so end the call"}
    campaign.script = {**SCRIPT, "rules": [means, *SCRIPT["rules"][1:]]}
    campaign.save()
    editor = staff_client.get(f"/campaigns/{campaign.pk}/script/").context["editor"]
    assert editor.rules.initial[0]["kept"] == {"means": "not interested, so end the call"}

    response = staff_client.post(f"/campaigns/{campaign.pk}/script/", editor_post(campaign.script))

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.script["rules"][0] == means


def test_a_new_campaign_starts_from_the_default_script(staff_client, campaign):
    editor = staff_client.get(f"/campaigns/{campaign.pk}/script/").context["editor"]
    assert [rule["keywords"] for rule in editor.rules.initial] == [
        ", ".join(rule["keywords"]) for rule in DEFAULT_SCRIPT["rules"]]


@pytest.mark.parametrize(("change", "named"), [
    ({"rules-1-keywords": "", "rules-1-examples": ""}, "Rule 2: give at least one keyword or example"),
    ({"rules-2-reply": "Great {% if x %}"}, "Rule 3: reply: Template error"),
    ({"questions-1-text": "About the {% if plan %} plan?"}, "Question 2: question: Template error"),
    ({"rules-0-disposition": "maybe"}, "Rule 1: disposition: Select a valid choice"),
    ({"rules-0-disposition": "interested"}, ""),  # a valid change, for contrast
    ({"goodbye": ""}, "Goodbye: This field is required."),
])
def test_it_refuses_a_broken_script_naming_the_step(staff_client, campaign, change, named):
    response = staff_client.post(f"/campaigns/{campaign.pk}/script/", editor_post(SCRIPT, **change))

    campaign.refresh_from_db()
    if not named:
        assert response.status_code == 302 and campaign.script["rules"][0]["disposition"] == "interested"
        return
    assert response.status_code == 200
    problems = response.context["editor"].problems
    assert any(problem.startswith(named) for problem in problems), problems
    assert named in response.content.decode().replace("&quot;", '"')
    assert campaign.script == {}  # nothing saved


def test_a_callback_rule_must_say_callback_requested(staff_client, campaign):
    response = staff_client.post(f"/campaigns/{campaign.pk}/script/",
                                 editor_post(SCRIPT, **{"rules-1-disposition": "interested"}))
    assert response.context["editor"].problems == [
        'Rule 2 ("call me back"): a callback goes with the callback_requested disposition.']


def test_the_preview_says_what_the_bot_says_to_the_chosen_lead(staff_client, campaign):
    factory.lead(campaign, customer=factory.customer(first_name="Ann"), parameters={"plan": "bronze"})
    dana = factory.lead(campaign, customer=factory.customer(first_name="Dana"), parameters={"plan": "gold"})

    response = staff_client.post(f"/campaigns/{campaign.pk}/script/",
                                 editor_post(SCRIPT, action="preview", preview_lead=str(dana.pk)))

    assert response.status_code == 200
    steps = dict(response.context["preview_steps"])
    # The campaign's notices (on by default) come before the greeting, as on the call.
    assert steps["Greeting"] == [
        "You are speaking with an automated AI assistant. This call is recorded. Hello Dana.",
        "Would you like to hear about the gold plan?"]
    assert steps['Rule 1 ("not interested"): the caller says "not interested"'] == [
        "Understood, Dana.", "Bye Dana."]
    assert steps['Rule 3 ("yes"): the caller says "yes"'] == ["Great.", "Shall I book a visit?"]
    campaign.refresh_from_db()
    assert campaign.script == {}  # a preview saves nothing


def test_the_script_exports_as_json_and_imports_into_another_campaigns_editor(staff_client, campaign):
    campaign.script = SCRIPT
    campaign.save()
    exported = staff_client.get(f"/campaigns/{campaign.pk}/script.json")
    assert exported["Content-Disposition"] == 'attachment; filename="summer-sale-script.json"'
    assert json.loads(exported.content) == merged_script(SCRIPT)  # every key the bot reads, defaults too

    other = factory.campaign(name="Winter promo")
    page = staff_client.post(f"/campaigns/{other.pk}/script/",
                             {"action": "import", "script_json": exported.content.decode()})
    editor = page.context["editor"]
    assert [f["text"] for f in editor.questions.initial] == SCRIPT["questions"]
    other.refresh_from_db()
    assert other.script == {}  # imported into the editor, to be checked and saved


def test_a_broken_import_is_refused_naming_the_step(staff_client, campaign):
    broken = {"rules": [{"keywords": ["yes"], "disposition": "thrilled", "reply": "Great."}]}
    page = staff_client.post(f"/campaigns/{campaign.pk}/script/",
                             {"action": "import", "script_json": json.dumps(broken)})
    errors = page.context["import_form"].errors["script_json"]
    assert errors[0].startswith('Rule 1 ("yes"): unknown disposition \'thrilled\'')
    page = staff_client.post(f"/campaigns/{campaign.pk}/script/", {"action": "import", "script_json": "{"})
    assert page.context["import_form"].errors["script_json"][0].startswith("Not valid JSON")


def test_the_api_refuses_a_broken_script_naming_the_step(staff_client, campaign):
    from campaigns.forms import CampaignForm

    form = CampaignForm({"name": "x", "voice_stack": "lite", "greeting_template": "Hi",
                         "window_start": "09:00", "window_end": "18:00", "default_timezone": "UTC",
                         "max_concurrent_calls": "1", "max_attempts": "1", "ring_timeout_seconds": "20",
                         "script": json.dumps({"questions": ["Ok?", " "]})})
    assert form.errors["script"] == ["Question 2: write the question, or remove it."]


def test_the_editor_needs_a_staff_login(client, stranger, campaign):
    assert client.get(f"/campaigns/{campaign.pk}/script/").status_code == 302
    client.force_login(stranger)
    assert client.get(f"/campaigns/{campaign.pk}/script/").status_code == 403
    assert client.get(f"/campaigns/{campaign.pk}/script.json").status_code == 403


@pytest.mark.parametrize(("script", "named"), [
    ({"keypad": {"1": "dance"}}, "Key 1: unknown action 'dance' (one of transfer, do_not_call, interested, "
                                 "not_interested, callback, repeat)."),
    ({"keypad": {"12": "transfer"}}, "Keypad: '12' is not a key (one of 0-9, * and #)."),
    ({"keypad": ["1", "transfer"]}, 'Keypad: must map keys to actions, e.g. {"1": "transfer"}.'),
    ({"rules": [{"keywords": ["agent"], "reply": "Sure.", "transfer": True, "end": True}]},
     'Rule 1 ("agent"): reply: either transfer the call or hang up, not both.'),
    ({"rules": [{"keywords": ["agent"], "reply": "Sure.", "transfer": "yes"}]},
     'Rule 1 ("agent"): transfer must be true or false.'),
    ({"briefing": "{% if reason %}"}, "Briefing for the agent: template error"),
    ({"agents_closed_reply": " "}, "Said outside agent hours: write what the bot says."),
])
def test_a_broken_keypad_or_transfer_is_refused_naming_the_key_or_step(staff_client, campaign, script, named):
    page = staff_client.post(f"/campaigns/{campaign.pk}/script/",
                             {"action": "import", "script_json": json.dumps(script)})
    errors = page.context["import_form"].errors["script_json"]
    assert errors[0].startswith(named), errors


def test_the_keypad_and_the_transfer_texts_are_shown_and_saved_back(staff_client, campaign):
    campaign.script = SCRIPT
    campaign.save()
    editor = staff_client.get(f"/campaigns/{campaign.pk}/script/").context["editor"]
    assert {name: action for name, action in editor.keypad.initial.items() if action} == {
        "key_1": "transfer", "key_9": "do_not_call", "key_hash": "repeat"}
    assert editor.form.initial["briefing"] == "{{ first_name }} is waiting: {{ reason }}. {{ summary }}"
    assert editor.rules.initial[3]["then"] == "transfer"
    assert editor.rules.initial[2]["followup_then"] == "transfer"

    response = staff_client.post(f"/campaigns/{campaign.pk}/script/", editor_post(
        SCRIPT, **{"keypad-key_9": "", "keypad-key_0": "interested", "transfer_reply": "Hold on."}))

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.script["keypad"] == {"1": "transfer", "0": "interested", "#": "repeat"}
    assert campaign.script["transfer_reply"] == "Hold on."


def test_a_rule_can_transfer_when_matched_again_without_a_reply_of_its_own(staff_client, campaign):
    post = editor_post(SCRIPT, **{"rules-0-then": "next", "rules-0-followup_then": "transfer"})
    staff_client.post(f"/campaigns/{campaign.pk}/script/", post)
    campaign.refresh_from_db()
    assert campaign.script["rules"][0]["end"] is False
    # No reply of its own: the rule's reply is said again, then the transfer.
    assert campaign.script["rules"][0]["followup"] == {"end": False, "transfer": True}


@pytest.mark.parametrize(("change", "named"), [
    ({"keypad-key_1": "dance"}, "Key 1: Select a valid choice. dance is not one of the available choices."),
    ({"briefing": "{% if reason %}"}, "Briefing for the agent: Template error"),
    ({"transfer_reply": ""}, "Said before a transfer: This field is required."),
])
def test_a_broken_keypad_or_transfer_text_is_refused_naming_it(staff_client, campaign, change, named):
    response = staff_client.post(f"/campaigns/{campaign.pk}/script/", editor_post(SCRIPT, **change))
    assert response.status_code == 200
    problems = response.context["editor"].problems
    assert any(problem.startswith(named) for problem in problems), problems
    campaign.refresh_from_db()
    assert campaign.script == {}


def test_the_preview_says_the_transfer_texts_to_the_chosen_lead(staff_client, campaign):
    dana = factory.lead(campaign, customer=factory.customer(first_name="Dana"), parameters={"plan": "gold"})

    response = staff_client.post(f"/campaigns/{campaign.pk}/script/",
                                 editor_post(SCRIPT, action="preview", preview_lead=str(dana.pk)))

    steps = dict(response.context["preview_steps"])
    assert steps['Rule 4 ("a person"): the caller says "a person"'] == ["Of course.", "One moment, Dana."]
    assert steps['Rule 3 ("yes"): the caller says it again'] == [
        "Putting you through to a specialist.", "One moment, Dana."]
    assert steps['Outside agent hours (the agents are back "tomorrow at 9:00")'] == [
        "Our team is back tomorrow at 9:00. When shall we call you?"]
    assert steps["No agent answers: the caller is back"] == [
        "Nobody could answer, sorry. When shall we call you?"]
    assert steps["Warm transfer: the briefing the agent hears"] == [
        'Dana is waiting: asked for a person. Caller said: "yes"']
