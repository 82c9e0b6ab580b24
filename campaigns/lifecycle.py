"""A campaign's life: draft → scheduled → running ⇄ paused → completed / cancelled.

Every transition is one conditional UPDATE, so two staff pressing buttons at once (or
the dashboard racing the scheduler) can never both win. Staff, the admin, the dispatcher
and the reaper all move campaigns through here, each saying who it is (`by`, and the
person's `user`): every move writes its CampaignEvent, the campaign's timeline, in its own
transaction. Once a move is committed, `campaign_changed` tells whoever shows campaigns
(the dashboard's pages)."""

import contextlib

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from botruntime.weights import problems as model_problems
from campaigns.models import Campaign, CampaignEvent, Lead
from campaigns.webhooks import events as webhook_events

# Sent after the commit of every transition, with `campaign` (as it now is).
campaign_changed = Signal()

By = CampaignEvent.By
Kind = CampaignEvent.Kind

# Which stack needs which keys; named in the error so staff know what to set.
CLOUD_KEYS = ["DEEPGRAM_API_KEY", "OPENAI_API_KEY", "CARTESIA_API_KEY"]


class TransitionError(Exception):
    """The campaign cannot make this move; the message says why, for a person."""


def startability_problems(campaign: Campaign) -> list[str]:
    problems = []
    if not campaign.caller_id and not campaign.caller_numbers.exists():
        problems.append("Set a caller ID (the Twilio number calls come from) or a caller-ID pool.")
    if not settings.TWILIO_ACCOUNT_SID or not settings.TWILIO_AUTH_TOKEN:
        problems.append("Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
    if campaign.voice_stack == Campaign.VoiceStack.CLOUD:
        problems += [
            f"The cloud voice stack needs {key}: set it in the environment."
            for key in CLOUD_KEYS
            if not getattr(settings, key)
        ]
    if campaign.voice_stack in (Campaign.VoiceStack.LITE, Campaign.VoiceStack.NATURAL):
        problems += [f"The {campaign.voice_stack} voice stack cannot find a model: {missing}."
                     for missing in model_problems(settings.WHISPER_MODEL_PATH,
                                                   settings.PIPER_VOICE_PATH, settings.INTENT_MODEL_PATH)
                     if campaign.voice_stack == Campaign.VoiceStack.NATURAL
                     or missing.setting == "INTENT_MODEL_PATH"]
    if not campaign.leads.due().exists():
        problems.append("Add at least one contact who can still be called.")
    return problems


def _kind(previous: str, to: str) -> str:
    if to == Campaign.Status.RUNNING:
        return {Campaign.Status.PAUSED: Kind.RESUMED, Campaign.Status.COMPLETED: Kind.REOPENED}.get(
            previous, Kind.STARTED)
    return to  # scheduled, paused, completed, cancelled: the kind is named after the status


def _moved(campaign: Campaign, allowed_from: list[str], to: str, reason: str = "", *, by: str,
           user=None, call_ids=(), **only_if) -> bool:
    """The one conditional UPDATE every transition is; True if this call made it. The
    timeline's event and the webhook event are written with it, in the same transaction."""
    with transaction.atomic():
        # Locked first only to know what it was moved from, for the timeline and the webhook.
        previous = Campaign.objects.select_for_update().values_list("status", flat=True).get(pk=campaign.pk)
        now = timezone.now()
        changed = Campaign.objects.filter(pk=campaign.pk, status__in=allowed_from, **only_if).update(
            status=to, status_reason=reason, updated_at=now
        )
        if changed:
            CampaignEvent.objects.create(campaign_id=campaign.pk, kind=_kind(previous, to), by=by,
                                         user=user, reason=reason, call_ids=list(call_ids), at=now)
            webhook_events.campaign_status_changed(campaign.pk, previous)
    if changed:
        campaign.refresh_from_db(fields=["status", "status_reason", "updated_at"])
        transaction.on_commit(lambda: campaign_changed.send(sender=Campaign, campaign=campaign), robust=True)
    return bool(changed)


def _move(campaign: Campaign, allowed_from: list[str], to: str, reason: str = "", **who) -> None:
    if not _moved(campaign, allowed_from, to, reason, **who):
        campaign.refresh_from_db(fields=["status", "status_reason", "updated_at"])
        raise TransitionError(
            f"A {campaign.get_status_display().lower()} campaign cannot become "
            f"{Campaign.Status(to).label.lower()}."
        )


def created(campaign: Campaign, *, by: str = By.PERSON, user=None) -> None:
    """The timeline's first entry, for a campaign just made (by staff, the API, the demo)."""
    CampaignEvent.objects.create(campaign=campaign, kind=Kind.CREATED, by=by, user=user,
                                 at=campaign.created_at)


def start(campaign: Campaign, *, by: str = By.PERSON, user=None) -> None:
    """Start now, or schedule for `starts_at` when that is still ahead."""
    problems = startability_problems(campaign)
    if problems:
        raise TransitionError("The campaign cannot start yet. " + " ".join(problems))
    ahead = campaign.starts_at and campaign.starts_at > timezone.now()
    target = Campaign.Status.SCHEDULED if ahead else Campaign.Status.RUNNING
    _move(campaign, [Campaign.Status.DRAFT, Campaign.Status.SCHEDULED], target, by=by, user=user)


def begin_scheduled(campaign: Campaign) -> None:
    """The scheduler's move when a scheduled campaign's start time has come."""
    _move(campaign, [Campaign.Status.SCHEDULED], Campaign.Status.RUNNING, by=By.SCHEDULE)


def pause(campaign: Campaign, reason: str = "", *, by: str = By.PERSON, user=None, call_ids=()) -> None:
    """`by` names who pauses: a person (`user`), the API, the circuit breaker (with the
    failing `call_ids`), Twilio refusing the account, a voice service refusing its key."""
    _move(campaign, [Campaign.Status.RUNNING, Campaign.Status.SCHEDULED], Campaign.Status.PAUSED, reason,
          by=by, user=user, call_ids=call_ids)


def resume(campaign: Campaign, *, by: str = By.PERSON, user=None) -> None:
    problems = startability_problems(campaign)
    if problems:
        raise TransitionError("The campaign cannot resume. " + " ".join(problems))
    _move(campaign, [Campaign.Status.PAUSED], Campaign.Status.RUNNING, by=by, user=user)


def cancel(campaign: Campaign, *, by: str = By.PERSON, user=None) -> None:
    """Stop for good: leads not yet called are cancelled; calls in progress finish."""
    with transaction.atomic():
        _move(
            campaign,
            [Campaign.Status.DRAFT, Campaign.Status.SCHEDULED, Campaign.Status.RUNNING,
             Campaign.Status.PAUSED],
            Campaign.Status.CANCELLED, by=by, user=user,
        )
        campaign.leads.due().update(
            state=Lead.State.CANCELLED, updated_at=timezone.now()
        )


ALL_FINAL = "Every contact has a final outcome."


def complete_if_finished(campaign: Campaign) -> bool:
    """Complete a running campaign once no lead can be called any more."""
    if campaign.leads.open().exists():
        return False
    return _moved(campaign, [Campaign.Status.RUNNING], Campaign.Status.COMPLETED, ALL_FINAL, by=By.DIALER)


def reopen_for(lead) -> bool:
    """A verdict that came after the campaign completed gave a lead more to do (a callback
    asked for in the call's last second): run again. A campaign completed for any other
    reason — its end date — stays completed."""
    if lead.state not in Lead.OPEN_STATES:
        return False
    return _moved(lead.campaign, [Campaign.Status.COMPLETED], Campaign.Status.RUNNING,
                  by=By.DIALER, status_reason=ALL_FINAL)


def complete_at_end_date(campaign: Campaign) -> bool:
    return _moved(campaign, [Campaign.Status.RUNNING], Campaign.Status.COMPLETED,
                  "The campaign's end date was reached.", by=By.SCHEDULE)


def campaigns_to_dispatch() -> list[int]:
    """Start scheduled campaigns whose time has come; return every running campaign's id."""
    due = Campaign.objects.filter(status=Campaign.Status.SCHEDULED, starts_at__lte=timezone.now())
    for campaign in due:
        with contextlib.suppress(TransitionError):  # someone paused or cancelled it meanwhile
            begin_scheduled(campaign)
    return list(Campaign.objects.filter(status=Campaign.Status.RUNNING).values_list("pk", flat=True))
