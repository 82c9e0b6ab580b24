"""The bot sessions' store (`botruntime.store.CallStore`) over the product's database.

Plain synchronous methods: the session calls them through `database_sync_to_async`, never
on the event loop, and they publish live updates after commit (`calls.live`)."""

from __future__ import annotations

import contextlib
import io
import logging
import wave
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from botruntime.store import CallContext, Recording, TransferAnswer, UnknownCall
from calls import breaker, live, transfers
from calls import events as call_events
from calls.dialer import settling
from calls.models import Call, TranscriptLine, TransferAttempt
from campaigns import lifecycle
from campaigns.calling_window import customer_zone
from campaigns.models import Campaign, Customer, Disposition, DoNotCall, Lead

logger = logging.getLogger(__name__)


def _find_campaign(value: str) -> Campaign | None:
    if not value:
        return None
    by_slug = Campaign.objects.filter(slug=value).order_by("-updated_at").first()
    if by_slug or not value.isdigit():
        return by_slug
    return Campaign.objects.filter(pk=int(value)).first()


def _find_customer(parameters: dict, phone: str) -> Customer | None:
    customer_id = str(parameters.get("customer_id", ""))
    if customer_id.isdigit():
        customer = Customer.objects.filter(pk=int(customer_id)).first()
        if customer:
            return customer
    return Customer.objects.filter(phone=phone).first() if phone else None


def wav_bytes(pcm: bytes, sample_rate: int, channels: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def joined_wav(earlier, pcm: bytes, sample_rate: int, channels: int) -> bytes:
    """The call's recording so far with a resumed session's after it (when both have the same
    format; else only the later one, which has what the caller said last)."""
    try:
        with earlier.open("rb") as file, wave.open(file) as wav:
            if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (sample_rate, channels, 2):
                pcm = wav.readframes(wav.getnframes()) + pcm
    except (OSError, wave.Error, EOFError):
        logger.warning("Could not read the earlier recording %s; keeping the resumed one", earlier.name)
    return wav_bytes(pcm, sample_rate, channels)


def call_context(call: Call) -> CallContext:
    """What a bot session knows of its call: read when the stream starts, and by the script
    editor's preview for a call that is not placed (yet)."""
    # An agent leg briefs the agent about the caller's call: its customer is the one to describe.
    customer = call.transfer_of.customer if call.transfer_of_id else call.customer
    campaign = call.campaign
    customer_fields = {}
    if customer:
        customer_fields = {
            **{k: str(v) for k, v in customer.attributes.items()},
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "full_name": customer.full_name,
            "email": customer.email,
            "phone": customer.phone,
        }
    phone = call.to_number if call.direction == Call.Direction.OUTBOUND else call.from_number
    return CallContext(
        call_id=call.pk,
        call_sid=call.call_sid or "",
        direction=call.direction,
        phone=customer.phone if customer else (phone or ""),
        campaign_id=campaign.pk if campaign else None,
        campaign_name=campaign.name if campaign else "",
        campaign_slug=campaign.slug if campaign else "",
        greeting_template=campaign.greeting_template if campaign else "",
        opening_notices=campaign.opening_notices() if campaign else [],
        system_prompt_template=campaign.system_prompt_template if campaign else "",
        script=campaign.script if campaign else {},
        voice_stack=campaign.voice_stack if campaign else Campaign.VoiceStack.LITE,
        voicemail_message=campaign.voicemail_message if campaign else "",
        customer=customer_fields,
        lead_id=call.lead_id,
        timezone=(customer_zone(customer, campaign) if customer
                  else campaign.default_timezone if campaign else "UTC"),
        parameters=dict(call.parameters),
        can_transfer=bool(campaign and campaign.transfer_targets),
        transfer_unanswered=(campaign.transfer_unanswered if campaign
                             else Campaign.TransferUnanswered.OFFER_CALLBACK),
    )


def _resumable(call: Call, parameters: dict) -> bool:
    """A second stream for a call is the caller back with the bot after a hand-off no agent
    took (the TwiML of calls.transfers says so); any other is refused."""
    return (parameters.get("resume") == transfers.RESUME_AGENT_UNAVAILABLE
            and call.transfers.exists() and not call.transfers.pending().exists())


class DatabaseCallStore:
    """Calls, their transcripts and recordings in the database; the lead's verdict to the dialer."""

    # A stream that resumes a call (the caller back from a hand-off) continues its transcript
    # and recording: its session's offsets count from its own start, stored after the call's.
    offset_base_ms = 0
    resumed = False

    def link_call(self, call_sid: str, stream_sid: str, parameters: dict) -> CallContext:
        """Find the Call for a starting stream (by `call_id` param, else CallSid), or create an
        inbound row for a stream we were never told about; store the stream's details."""
        call = None
        call_id = str(parameters.get("call_id", ""))
        with transaction.atomic():
            if call_id.isdigit():
                call = Call.objects.select_for_update().filter(pk=int(call_id)).first()
                if call and call.call_sid and call.call_sid != call_sid:
                    raise UnknownCall(f"call {call_id} belongs to {call.call_sid}, not {call_sid}")
            if call is None:
                call = Call.objects.select_for_update().filter(call_sid=call_sid).first()
            if call is not None and call.stream_sid and call.stream_sid != stream_sid:
                if not _resumable(call, parameters):
                    raise UnknownCall(f"call {call.pk} has had its media stream already")
                self.resumed, call.summary = True, ""  # its session stores the whole call's again
                self.offset_base_ms = self._elapsed_ms(call)
            if call is None:
                caller = str(parameters.get("caller_id", ""))
                call = Call(direction=Call.Direction.INBOUND, from_number=caller,
                            status=Call.Status.IN_PROGRESS)
            campaign = call.campaign or _find_campaign(str(parameters.get("campaign_id", "")))
            phone = call.to_number if call.direction == Call.Direction.OUTBOUND else call.from_number
            # A test call is nobody's: a lead's details, if picked, are in its parameters.
            # An agent leg is nobody's either: it describes its caller's customer (call_context).
            nobodys = call.is_test or call.transfer_of_id
            customer = None if nobodys else call.customer or _find_customer(parameters, phone)
            call.campaign, call.customer = campaign, customer
            if not call.lead_id and campaign and customer:
                call.lead = Lead.objects.filter(campaign=campaign, customer=customer).first()
            call.call_sid = call_sid
            call.stream_sid = stream_sid
            call.parameters = {**call.parameters, **parameters}
            call.move_to(Call.Status.IN_PROGRESS)
            call.answered_at = call.answered_at or timezone.now()
            call.save()
            call_events.call_started(call)
            live.publish_call(call)

        return call_context(call)

    @staticmethod
    def _elapsed_ms(call: Call) -> int:
        answered = call.answered_at or timezone.now()
        since_answer = int((timezone.now() - answered).total_seconds() * 1000)
        last = call.transcript.order_by("-offset_ms").values_list("offset_ms", flat=True).first() or 0
        return max(since_answer, last + 1)

    def add_transcript_line(self, call_id: int, speaker: str, text: str, offset_ms: int,
                            unheard: str = "") -> int:
        line = TranscriptLine.objects.create(
            call_id=call_id, speaker=speaker, text=text, unheard=unheard,
            offset_ms=self.offset_base_ms + max(0, offset_ms),
        )
        live.publish_transcript(line)
        return line.pk

    def cut_transcript_line(self, line_id: int, heard: str, unheard: str) -> None:
        TranscriptLine.objects.filter(pk=line_id).update(text=heard, unheard=unheard)

    def pause_campaign(self, campaign_id: int, reason: str) -> None:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is not None:
            with contextlib.suppress(lifecycle.TransitionError):  # already paused or stopped
                lifecycle.pause(campaign, reason, by=lifecycle.By.VOICE_SERVICE)

    def set_disposition(self, call_id: int, disposition: str, notes: str) -> None:
        """The bot's verdict, stored as soon as it is reached so a dropped call keeps it, and
        shown on the dashboard as soon as it is stored."""
        Call.objects.filter(pk=call_id).update(disposition=disposition, notes=notes)
        call = Call.objects.select_related("customer").filter(pk=call_id).first()
        if call is not None:
            live.publish_call(call)

    def add_do_not_call(self, phone: str, reason: str) -> None:
        if phone:
            DoNotCall.objects.add([phone], reason, source="bot")

    def record_outcome(self, lead_id: int, disposition: str, notes: str,
                       callback_at: datetime | None) -> None:
        # The dialer owns the lead's scheduling: it decides retries and callbacks.
        settling.record_outcome(lead_id, disposition, notes, callback_at)

    def finish_call(self, call_id: int, *, disposition: str, notes: str, summary: str, metrics: dict,
                    recording: Recording | None) -> None:
        """`recording` is (16-bit PCM, sample rate, channels): encoded to WAV here, in the
        worker thread, not on the event loop (minutes of stereo audio are megabytes)."""
        wav = ContentFile(wav_bytes(*recording)) if recording else None
        with transaction.atomic():
            # Locked: Twilio's final status may be settling the same call (call.ended, once).
            call = Call.objects.select_for_update(of=("self",)).select_related("customer", "campaign").filter(
                pk=call_id).first()
            if call is None:
                logger.warning("call %s was deleted before its session finished", call_id)
                return
            # An agent took the call: that is its outcome. A stream that ended because the call
            # was handed over looks like a hang-up to the session, which it was not.
            handed_over = disposition == Disposition.HUNG_UP and call.transfers.exists()
            if call.disposition != Disposition.TRANSFERRED and not handed_over:
                call.disposition = disposition or call.disposition
            call.notes = notes or call.notes
            call.summary = summary
            call.metrics = {**call.metrics, **metrics}
            fields = ["disposition", "notes", "summary", "metrics"]
            if wav and self.resumed and call.recording:
                wav = ContentFile(joined_wav(call.recording, *recording))
            if wav:
                call.recording.save(f"{call.call_sid or call.pk}.wav", wav, save=False)
                fields.append("recording")
            call.save(update_fields=fields)
            call_events.call_ended_if_ready(call)
            live.publish_call(call)
        if metrics.get("session_failed"):
            breaker.check_campaigns([call.campaign_id])

    def transfer_refusal(self, call_id: int) -> TransferAnswer | None:
        refused = transfers.transfer_refusal(call_id)
        return _answer(refused) if refused is not None else None

    def transfer_call(self, call_id: int, reason: str, summary: str) -> TransferAnswer:
        return _answer(transfers.request_transfer(call_id, reason=reason, summary=summary,
                                                  requested_by="bot"))

    def taken_over(self, call_id: int, since: datetime) -> bool:
        return (TransferAttempt.objects.filter(call_id=call_id, created_at__gte=since)
                .exclude(status=TransferAttempt.Status.FAILED).exists())

    def agent_briefed(self, call_id: int) -> None:
        transfers.agent_briefed(call_id)

    def transcript_lines(self, call_id: int) -> list[tuple[str, str]]:
        return list(TranscriptLine.objects.filter(call_id=call_id).values_list("speaker", "text"))


def _answer(request: transfers.TransferRequest) -> TransferAnswer:
    return TransferAnswer(started=request.started, refusal=request.refusal,
                          agents_open_at=request.agents_open_at)
