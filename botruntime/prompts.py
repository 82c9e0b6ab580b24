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


def system_prompt(call: CallContext) -> str:
    context = template_context(call)
    template = call.system_prompt_template or SESSION_PROMPTS[session_type(call)]
    parts = [render(template, context)]
    if context["promotion"]:
        parts.append(f"Open with the current promotion: {context['promotion']}")
    parts.append(TOOL_RULES)
    return "\n\n".join(parts)


def voicemail(call: CallContext) -> str:
    template = call.voicemail_message or (
        "Hello {{ first_name|default:'there' }}, this is an automated message from "
        "{{ campaign_name|default:'our company' }}. We will try you again later. Goodbye."
    )
    return render(template, template_context(call))
