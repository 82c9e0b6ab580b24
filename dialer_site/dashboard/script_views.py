"""A campaign's script: the editor, its preview for one lead, JSON import and export."""

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify

from botruntime import prompts
from botruntime.intents import Meaning
from botruntime.script import ScriptedDialogue, merged_script, rule_name
from calls import bot_store
from calls.dialer.claiming import outbound_parameters
from calls.models import Call
from campaigns.models import Campaign, Lead
from campaigns.script_forms import ImportForm, ScriptEditor
from common.access import staff_required

PREVIEW_LEADS = 100  # the preview's lead picker lists the campaign's first leads
PREVIEW_AGENTS_OPEN = "tomorrow at 9:00"  # an opening time, to show where {{ agents_open }} goes


def preview(campaign: Campaign, lead: Lead, script: dict, greeting: str) -> list[tuple[str, list[str]]]:
    """What the bot says to this lead, step by step: the greeting and first question, then
    for each rule what it answers when the rule matches — rendered as in a real call, by the
    dialogue the offline stacks run."""
    call = Call(direction=Call.Direction.OUTBOUND, campaign=campaign, customer=lead.customer, lead=lead,
                to_number=lead.customer.phone,
                parameters=outbound_parameters(lead.customer, campaign, lead.parameters))
    context = bot_store.call_context(call)
    context.greeting_template = greeting
    variables = prompts.template_context(context)
    script = merged_script(script)

    def said(lines: list[str]) -> list[str]:
        return [prompts.render(line, variables) for line in lines]

    def answer(dialogue: ScriptedDialogue, index: int, step: dict, heard: str) -> list[str]:
        action = dialogue.respond(heard, Meaning(rule=index, similarity=1.0, margin=1.0))
        # A transfer ends the bot's part: its reply, then the words before the transfer.
        return said([step["reply"], script["transfer_reply"]] if step.get("transfer") else action.say)

    steps = [("Greeting", [prompts.greeting(context), *said(ScriptedDialogue(script).opening())])]
    transfer_heard = ""
    for index, rule in enumerate(script["rules"]):
        dialogue = ScriptedDialogue(script)
        dialogue.opening()
        heard = (rule.get("keywords") or rule.get("examples") or [""])[0]
        name = rule_name(index, rule)
        steps.append((f'{name}: the caller says "{heard}"', answer(dialogue, index, rule, heard)))
        again = {**rule, **rule.get("followup", {})}
        if rule.get("followup") and not (rule.get("end") or rule.get("transfer")):
            steps.append((f"{name}: the caller says it again", answer(dialogue, index, again, heard)))
        if not transfer_heard and (rule.get("transfer") or again.get("transfer")):
            transfer_heard = heard
    steps.append(("Nothing matches", said([script["fallback"]])))
    steps.append(("The caller is silent", said([script["idle_goodbye"]])))
    closed = {**variables, "agents_open": PREVIEW_AGENTS_OPEN}
    steps.append((f'Outside agent hours (the agents are back "{PREVIEW_AGENTS_OPEN}")',
                  [prompts.render(script["agents_closed_reply"], closed)]))
    steps.append(("No agent answers: the caller is back", said([script["agent_unavailable_reply"]])))
    briefing = {**variables, "reason": "asked for a person",
                "summary": f'Caller said: "{transfer_heard or "can I talk to a person"}"'}
    steps.append(("Warm transfer: the briefing the agent hears",
                  [prompts.render(script["briefing"], briefing)]))
    return steps


def _preview_lead(campaign: Campaign, params) -> Lead | None:
    leads = campaign.leads.select_related("customer")
    chosen = params.get("preview_lead", "")
    return (leads.filter(pk=int(chosen)).first() if chosen.isdigit() else None) or leads.first()


def _editor(request, campaign: Campaign) -> tuple[ScriptEditor, ImportForm]:
    """The editor as the request leaves it: the saved script, what was posted, or an
    imported script (unsaved, to be checked first)."""
    importing = ImportForm(request.POST if request.POST.get("action") == "import" else None)
    if importing.is_bound and importing.is_valid():
        messages.success(request, "Script imported into the editor. Check it, then save.")
        return ScriptEditor(script=importing.cleaned_data["script_json"],
                            greeting=campaign.greeting_template), importing
    if request.method == "POST" and not importing.is_bound:
        editor = ScriptEditor(request.POST)
        editor.is_valid()
        return editor, importing
    return ScriptEditor(script=campaign.script, greeting=campaign.greeting_template), importing


@staff_required
def campaign_script(request, campaign_id):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    editor, importing = _editor(request, campaign)
    if editor.form.is_bound and not editor.problems and request.POST.get("action") == "save":
        campaign.script, campaign.greeting_template = editor.script(), editor.greeting()
        campaign.save(update_fields=["script", "greeting_template", "updated_at"])
        messages.success(request, "Script saved. New calls use it.")
        return redirect("campaign-script", campaign.pk)
    lead = _preview_lead(campaign, request.POST or request.GET)
    steps = None
    if lead and editor.form.is_bound and not editor.problems:
        steps = preview(campaign, lead, editor.script(), editor.greeting())
    elif lead and not editor.form.is_bound:
        steps = preview(campaign, lead, editor.initial_script, campaign.greeting_template)
    ctx = {
        "campaign": campaign, "editor": editor, "import_form": importing, "preview_steps": steps,
        "preview_lead": lead, "leads": campaign.leads.select_related("customer")[:PREVIEW_LEADS],
    }
    return render(request, "campaigns/script_editor.html", ctx)


@staff_required
def campaign_script_json(request, campaign_id):
    """The saved script as a JSON file, for another campaign's import."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    body = json.dumps(merged_script(campaign.script), indent=2, ensure_ascii=False)
    response = HttpResponse(body + "\n", content_type="application/json")
    name = slugify(campaign.slug or campaign.name) or f"campaign-{campaign.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}-script.json"'
    return response
