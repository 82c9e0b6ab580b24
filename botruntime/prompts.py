"""Per-call wording: the greeting and the system prompt, rendered from the campaign's
templates with the customer's fields and the stream's `<Parameter>`s.

The seed's conventions: `session_type` (support / sales / general) picks the prompt when the
campaign has none of its own, `caller_id` personalises the greeting of an unknown caller, and
`campaign_id` summer_sale opens with the promotion.
"""

from __future__ import annotations

from django.template import Context, Engine, TemplateSyntaxError

from botruntime.store import CallContext

# Speech, not HTML: nothing to escape. Unknown variables render as nothing.
_engine = Engine(autoescape=False, string_if_invalid="")

PROMOTIONS = {
    "summer_sale": "Our summer sale is on now, with up to thirty percent off everything "
    "until the end of the month.",
}

SESSION_PROMPTS = {
    "sales": (
        "You are a friendly, concise sales assistant calling on behalf of {{ campaign_name }}. "
        "Introduce the offer, answer questions briefly and find out whether "
        "{{ first_name|default:'the caller' }} is interested."
    ),
    "support": (
        "You are a patient customer-support assistant for {{ campaign_name|default:'our company' }}. "
        "{{ first_name|default:'The caller' }} is an existing customer; help them or take a message."
    ),
    "general": (
        "You are a polite phone assistant for {{ campaign_name|default:'our company' }}. "
        "Find out what the caller needs and take a message."
    ),
}

TOOL_RULES = (
    "You are speaking on the phone: answer in one or two short sentences, no lists or symbols. "
    "You are an automated assistant and must say so if asked. "
    "When you know the outcome call set_outcome with one of: interested, not_interested, "
    "callback_requested, wrong_number, do_not_call. If the caller asks to be called back, call "
    "schedule_callback with the time they gave. If they ask not to be called again, call "
    "set_outcome with do_not_call at once and apologise. When the conversation is over, say a "
    "short goodbye and then call end_call."
)

TRANSFER_RULES = (
    "You can hand the caller to a person: if they ask for a person (an agent, a "
    "representative, a human), or are interested and agree to talk to a specialist now, call "
    "transfer_call with a short reason and a one-line summary of what they want, for the person "
    "taking the call. Say nothing after it: the call is handed over. If it answers that the "
    "agents are away, the caller has been offered a callback at agents_open_at: if they agree, "
    "call schedule_callback with that time."
)
KEYPAD_RULES = 'The caller may press keys on their phone; you hear them as "[pressed 1]". Keys: '
# Each keypad action (botruntime.script.KEYPAD_ACTIONS): what the key means, what to do.
KEYPAD_MEANINGS = {
    "transfer": ("talk to a person", "call transfer_call"),
    "do_not_call": ("never be called again", "call set_outcome with do_not_call, apologise and end the call"),
    "interested": ("interested", "call set_outcome with interested"),
    "not_interested": ("not interested", "call set_outcome with not_interested"),
    "callback": ("be called back later", "call schedule_callback"),
    "repeat": ("hear that again", "say your last answer again"),
}
RESUMED = (
    "The caller was being transferred to a specialist, who did not answer. You have "
    "apologised and offered a callback: if they agree, call schedule_callback with the time "
    "they give (or 'tomorrow at ten'), then say goodbye and call end_call."
)

DEFAULT_GREETING = (
    "Hello {{ first_name|default:'there' }}, this is an automated assistant calling from "
    "{{ campaign_name|default:'our company' }}."
)


def template_context(call: CallContext) -> dict:
    # Parameters first: customer fields from our own database win over what the TwiML says.
    return {
        **call.parameters,
        **{k: v for k, v in call.customer.items() if v},
        "campaign_name": call.campaign_name,
        "campaign_slug": call.campaign_slug,
        "session_type": session_type(call),
        "can_transfer": call.can_transfer,
        "promotion": PROMOTIONS.get(str(call.parameters.get("campaign_id", "")), ""),
    }


def session_type(call: CallContext) -> str:
    value = str(call.parameters.get("session_type", "")).lower()
    if value in SESSION_PROMPTS:
        return value
    return "sales" if call.campaign_id else "general"


def render(template: str, context: dict) -> str:
    try:
        # Context escapes by default, whatever the engine says: speech must not hear "&#x27;".
        text = _engine.from_string(template).render(Context(context, autoescape=False))
    except TemplateSyntaxError:
        # A broken template must not silence the bot: say it as written.
        text = template
    return " ".join(text.split())


def template_error(template: str) -> str:
    """What is wrong with a template, for the person who wrote it ('' if nothing)."""
    try:
        _engine.from_string(template)
    except TemplateSyntaxError as error:
        return f"template error: {error}"
    return ""


def spoken_number(number: str) -> str:
    """'+12025550123' -> 'ending in 0 1 2 3': TTS reads long digit strings badly."""
    digits = [c for c in number if c.isdigit()]
    return "ending in " + " ".join(digits[-4:]) if len(digits) >= 4 else ""


def greeting(call: CallContext) -> str:
    """What the bot says first: the call's notices (rendered like the greeting), then the greeting."""
    context = template_context(call)
    text = render(call.greeting_template or DEFAULT_GREETING, context)
    caller_id = str(call.parameters.get("caller_id", ""))
    if caller_id and not call.customer and call.direction == "inbound":
        ending = spoken_number(caller_id)
        if ending:
            text = f"{text} Thanks for calling from the number {ending}."
    if context["promotion"]:
        text = f"{text} {context['promotion']}"
    return " ".join([*(render(notice, context) for notice in call.opening_notices), text])


def system_prompt(call: CallContext, keypad: dict | None = None) -> str:
    """The LLM's instructions; `keypad`: the script's keys and what they do."""
    context = template_context(call)
    template = call.system_prompt_template or SESSION_PROMPTS[session_type(call)]
    parts = [render(template, context)]
    if context["promotion"]:
        parts.append(f"Open with the current promotion: {context['promotion']}")
    parts.append(TOOL_RULES)
    if call.can_transfer:
        parts.append(TRANSFER_RULES)
    keys = [(key, action) for key, action in (keypad or {}).items()
            if action in KEYPAD_MEANINGS and (action != "transfer" or call.can_transfer)]
    if keys:
        meanings = [f"{key} = {KEYPAD_MEANINGS[action][0]} ({KEYPAD_MEANINGS[action][1]})"
                    for key, action in keys]
        parts.append(KEYPAD_RULES + "; ".join(meanings) + ".")
    if is_resumed(call):
        parts.append(RESUMED)
    return "\n\n".join(parts)


def is_resumed(call: CallContext) -> bool:
    """The caller is back with the bot: the agent they were transferred to did not answer."""
    return call.parameters.get("resume") == "agent_unavailable"


def is_briefing(call: CallContext) -> bool:
    """This stream is the agent's leg of a warm transfer: the bot briefs the agent."""
    return call.parameters.get("role") == "agent_briefing"


def voicemail(call: CallContext) -> str:
    template = call.voicemail_message or (
        "Hello {{ first_name|default:'there' }}, this is an automated message from "
        "{{ campaign_name|default:'our company' }}. We will try you again later. Goodbye."
    )
    return render(template, template_context(call))
