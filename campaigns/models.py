from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connection, models
from django.db.models import Exists, OuterRef
from django.utils import timezone

from botruntime.outcomes import Disposition, VoiceStack
from campaigns.phones import E164_REGEX

e164_validator = RegexValidator(
    E164_REGEX, "Enter the number in E.164 form: + then country code and number, e.g. +12025550123."
)


def default_retry_delays() -> list[int]:
    # Minutes before attempts 2, 3, …; the last value repeats for later attempts.
    return [30, 120, 1440]


# Spoken before the greeting on every voice stack (FCC 24-17: AI voices are artificial
# voices under the TCPA, so the call says so at its start). Blank turns a line off.
DEFAULT_AI_DISCLOSURE = "You are speaking with an automated AI assistant."
DEFAULT_RECORDING_NOTICE = "This call is recorded."


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # date.weekday()'s order


class Campaign(models.Model):
    class TransferOrder(models.TextChoices):
        IN_ORDER = "in_order", "In order: the first target first, then the next"
        ROUND_ROBIN = "round_robin", "Round robin: each hand-off starts with the next target"

    class TransferMode(models.TextChoices):
        COLD = "cold", "Cold: the caller is put straight through to the agent"
        WARM = "warm", "Warm: the bot briefs the agent first while the caller holds"

    class TransferUnanswered(models.TextChoices):
        OFFER_CALLBACK = "offer_callback", "Back to the bot, which offers a callback and books it"
        END_CALL_WITH_CALLBACK = ("end_call_with_callback",
                                  "Back to the bot, which books a callback and ends the call")

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    VoiceStack = VoiceStack

    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=64,
        blank=True,
        help_text="Passed to the bot as campaign_id (e.g. summer_sale opens with the promotion).",
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    status_reason = models.TextField(
        blank=True, help_text="Why the campaign last stopped or paused, shown on the dashboard."
    )
    caller_id = models.CharField(
        "caller ID", max_length=16, blank=True, validators=[e164_validator]
    )

    greeting_template = models.TextField(
        default="Hello {{ first_name|default:'there' }}, this is an automated assistant "
        "calling from {{ campaign_name }}."
    )
    system_prompt_template = models.TextField(
        blank=True, help_text="Instructions for the bot; Django template syntax with customer fields."
    )
    script = models.JSONField(
        default=dict,
        blank=True,
        help_text="The offline stacks' scripted dialogue: questions and rules.",
    )
    voice_stack = models.CharField(max_length=8, choices=VoiceStack, default=VoiceStack.LITE)
    voicemail_message = models.TextField(blank=True)
    answering_machine_detection = models.BooleanField(default=True)

    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    window_start = models.TimeField(default=time(9, 0))
    window_end = models.TimeField(default=time(20, 0))
    default_timezone = models.CharField(max_length=64, default="America/New_York")

    max_concurrent_calls = models.PositiveIntegerField(default=5)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    retry_delays_minutes = models.JSONField(default=default_retry_delays)
    ring_timeout_seconds = models.PositiveSmallIntegerField(default=30)
    caller_id_daily_cap = models.PositiveIntegerField(
        "calls a day per pool number", null=True, blank=True,
        help_text="Each caller-ID pool number places at most this many calls a day (in the "
        "campaign's default time zone). Empty: no cap.",
    )

    # Compliance, in each callee's own zone (campaigns.calling_window); the national
    # 08:00-21:00 rule applies whatever these say.
    weekday_hours = models.JSONField(
        default=dict, blank=True,
        help_text='Per weekday: {"sat": ["10:00", "14:00"], "sun": []} ([] closed); '
        "a day not named keeps the daily window.",
    )
    skip_dates = models.JSONField(default=list, blank=True, help_text="Dates never called: YYYY-MM-DD.")
    max_attempts_per_day = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Calls to one contact per day (their day) at most; empty for no cap.",
    )
    ai_disclosure = models.CharField("AI disclosure", max_length=300, blank=True,
                                     default=DEFAULT_AI_DISCLOSURE)
    recording_notice = models.CharField(max_length=300, blank=True, default=DEFAULT_RECORDING_NOTICE)

    # The circuit breaker (calls.breaker): pause when this share of the calls placed in
    # the window that have ended failed, once at least breaker_min_calls have.
    breaker_enabled = models.BooleanField("pause on failures", default=True)
    breaker_threshold_percent = models.PositiveSmallIntegerField(
        "failure threshold (%)", default=50, validators=[MinValueValidator(1), MaxValueValidator(100)])
    breaker_window_seconds = models.PositiveIntegerField(
        "failure window (seconds)", default=120, validators=[MinValueValidator(10), MaxValueValidator(86400)])
    breaker_min_calls = models.PositiveSmallIntegerField(
        "fewest calls judged", default=5, validators=[MinValueValidator(1), MaxValueValidator(1000)])

    # The hand-off to a person (calls.transfers).
    transfer_targets = models.JSONField(
        default=list, blank=True,
        help_text="The agents' numbers (E.164) a call is handed to, tried one after the other.")
    transfer_order = models.CharField(max_length=16, choices=TransferOrder, default=TransferOrder.IN_ORDER)
    transfer_mode = models.CharField(max_length=8, choices=TransferMode, default=TransferMode.COLD)
    agent_timezone = models.CharField(
        "agents' time zone", max_length=64, blank=True,
        help_text="The zone the agent hours are in. Empty: the campaign's default time zone.")
    agent_hours = models.JSONField(
        default=dict, blank=True,
        help_text='When agents take calls, per weekday: {"mon": ["09:00", "17:00"], "sat": []}. '
        "Empty: at any time; otherwise a day not named has no agents.")
    agent_ring_timeout_secs = models.PositiveSmallIntegerField(
        "agent ring timeout (seconds)", default=20, validators=[MinValueValidator(5), MaxValueValidator(120)])
    transfer_unanswered = models.CharField(
        "when no agent answers", max_length=24, choices=TransferUnanswered,
        default=TransferUnanswered.OFFER_CALLBACK)
    # Where the next round-robin hand-off starts (a counter, taken modulo the targets).
    transfer_rotation = models.PositiveIntegerField(default=0, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_attempts__gte=1), name="campaign_attempts_at_least_one"
            ),
            models.CheckConstraint(
                condition=models.Q(max_concurrent_calls__gte=1),
                name="campaign_concurrency_at_least_one",
            ),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.name

    def opening_notices(self) -> list[str]:
        """What every call says before the greeting, in order (templates, like the greeting)."""
        return [notice for notice in (self.ai_disclosure, self.recording_notice) if notice]

    @property
    def agent_zone(self) -> ZoneInfo:
        for name in (self.agent_timezone, self.default_timezone):
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
        return ZoneInfo("UTC")

    def _agent_window(self, day) -> tuple[time, time] | None:
        hours = self.agent_hours.get(WEEKDAYS[day.weekday()])
        return (time.fromisoformat(hours[0]), time.fromisoformat(hours[1])) if hours else None

    def agents_available(self, at: datetime) -> bool:
        """Whether agents take calls at this moment (their hours, in their zone)."""
        if not self.agent_hours:
            return True
        local = at.astimezone(self.agent_zone)
        hours = self._agent_window(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def agents_open_at(self, after: datetime) -> datetime | None:
        """The next moment agents take calls (`after` itself if they do now); None if no
        weekday has agent hours."""
        if self.agents_available(after):
            return after
        zone = self.agent_zone
        local = after.astimezone(zone)
        for days in range(8):
            day = local.date() + timedelta(days=days)
            hours = self._agent_window(day)
            if hours is None:
                continue
            opens = datetime.combine(day, hours[0], tzinfo=zone)
            if opens > after:
                return opens
        return None


class CampaignEvent(models.Model):
    """One move on the campaign's timeline, written by campaigns.lifecycle in the same
    transaction as the move itself: what happened, who or what did it, and why."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        SCHEDULED = "scheduled", "Scheduled"
        STARTED = "started", "Started"
        PAUSED = "paused", "Paused"
        RESUMED = "resumed", "Resumed"
        REOPENED = "reopened", "Reopened"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class By(models.TextChoices):
        PERSON = "person", "a person"
        API = "api", "the API"
        SCHEDULE = "schedule", "the schedule"
        DIALER = "dialer", "the dialer"
        BREAKER = "breaker", "the circuit breaker"
        TWILIO = "twilio", "Twilio"
        VOICE_SERVICE = "voice_service", "a voice service"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind)
    by = models.CharField(max_length=16, choices=By)
    user = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    # The calls that tripped the circuit breaker, for the links on the campaign page.
    call_ids = models.JSONField(default=list, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["campaign", "at"], name="campaignevent_campaign_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.who}"

    @property
    def who(self) -> str:
        if self.by == self.By.PERSON and self.user:
            return self.user.get_username()
        return self.get_by_display()


class CallerNumberQuerySet(models.QuerySet):
    def in_rotation(self):
        """Numbers calls may come from: those Twilio has not refused as caller ID."""
        return self.filter(refused_at__isnull=True)


class CallerNumber(models.Model):
    """One of the Twilio account's numbers in a campaign's caller-ID pool: how much it was
    used, and whether Twilio refused it as caller ID (then it is out of the rotation)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="caller_numbers")
    phone_number = models.CharField(max_length=16, validators=[e164_validator])
    friendly_name = models.CharField(max_length=64, blank=True)
    twilio_sid = models.CharField(max_length=34, blank=True)
    # Where the number is, for local presence (campaigns.caller_ids), from `phonenumbers`.
    country = models.CharField(max_length=2, blank=True)
    area_code = models.CharField(max_length=8, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    used_on = models.DateField(null=True, blank=True)  # the day `used_that_day` counts
    used_that_day = models.PositiveIntegerField(default=0)
    refused_at = models.DateTimeField(null=True, blank=True)
    refused_reason = models.CharField(max_length=300, blank=True)

    objects = CallerNumberQuerySet.as_manager()

    class Meta:
        ordering = ["campaign", "phone_number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "phone_number"],
                                    name="callernumber_unique_per_campaign")
        ]

    def __str__(self) -> str:
        return self.phone_number


class CustomerQuerySet(models.QuerySet):
    def with_do_not_call(self):
        return self.annotate(on_do_not_call=Exists(DoNotCall.objects.of(OuterRef("phone"))))


class Customer(models.Model):
    phone = models.CharField(max_length=16, unique=True, validators=[e164_validator])
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "phone"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(phone__regex=E164_REGEX), name="customer_phone_e164"
            )
        ]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return f"{self.full_name} {self.phone}".strip()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def do_not_call(self) -> bool:
        return DoNotCall.objects.listed(self.phone)


# pg_advisory_xact_lock(DO_NOT_CALL_NUMBER_LOCK, hashtext(phone)); migration 0006's trigger
# spells the same numbers (contact imports lock namespace 7001). A hash collision only makes
# two numbers wait for each other.
DO_NOT_CALL_NUMBER_LOCK = 7002


class DoNotCallQuerySet(models.QuerySet):
    """The do-not-call list's one service: every check and every change goes through here
    (the dialer, the API, contact imports, the bot's opt-out, the staff pages, the admin).

    The table is the single source of truth: it also holds numbers that asked not to be
    called before they were ever imported, and neither adding nor removing a number touches
    leads — the dialer reads the list again in the transaction that marks each dial, so a
    number taken off the list lets its open leads be called again. A number being put on the
    list and a dial to it being marked never pass each other: each insert (or change of
    number) takes an advisory lock on the number (a trigger, migration 0006), which the
    dialer takes too, shared, before it reads the list (listed_for_dialling)."""

    def of(self, phone):
        """The entry for this number (a value, or an OuterRef in a subquery)."""
        return self.filter(phone=phone)

    def listed(self, phone: str) -> bool:
        return self.of(phone).exists()

    def listed_among(self, phones) -> set[str]:
        return set(self.filter(phone__in=phones).values_list("phone", flat=True))

    def listed_for_dialling(self, phone: str) -> bool:
        """Whether the number is on the list, read so that no entry can be committed for it
        until the caller's transaction ends (call inside transaction.atomic, just before
        marking a dial)."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))",
                               [DO_NOT_CALL_NUMBER_LOCK, phone])
        return self.listed(phone)

    def add(self, phones: list[str], reason: str = "", source: str = "staff") -> int:
        """Put numbers on the list; returns how many were not on it already (a number
        already there keeps its entry: it is written once)."""
        phones = sorted(set(phones))  # the trigger locks them in insert order: always the same one
        before = self.listed_among(phones)
        reason = reason[: DoNotCall._meta.get_field("reason").max_length]
        new = [DoNotCall(phone=p, reason=reason, source=source) for p in phones if p not in before]
        self.bulk_create(new, ignore_conflicts=True)
        return len(new)

    def remove(self, phones: list[str]) -> int:
        deleted, _ = self.filter(phone__in=phones).delete()
        return deleted


class DoNotCall(models.Model):
    """A number never to be called (DoNotCallQuerySet is the list's service)."""

    phone = models.CharField(max_length=16, unique=True, validators=[e164_validator])
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(
        max_length=32, blank=True, help_text="Who added it: staff, bot, import, api."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DoNotCallQuerySet.as_manager()

    class Meta:
        verbose_name = "do-not-call entry"
        verbose_name_plural = "do-not-call list"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(phone__regex=E164_REGEX), name="dnc_phone_e164")
        ]

    def __str__(self) -> str:
        return self.phone


class LeadState(models.TextChoices):
    PENDING = "pending", "Pending"
    DIALING = "dialing", "Dialing"  # claimed by a worker; CallSid not yet known
    IN_CALL = "in_call", "In call"
    RETRY = "retry", "Waiting to retry"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    DO_NOT_CALL = "do_not_call", "Do not call"
    CANCELLED = "cancelled", "Cancelled"


# Named once, for the QuerySet below, the partial index and in-memory checks alike.
DUE_STATES = [LeadState.PENDING, LeadState.RETRY]
IN_FLIGHT_STATES = [LeadState.DIALING, LeadState.IN_CALL]
OPEN_STATES = DUE_STATES + IN_FLIGHT_STATES


class LeadQuerySet(models.QuerySet):
    def due(self):
        """Waiting for their next attempt (pending or retry): what the dispatcher claims from."""
        return self.filter(state__in=DUE_STATES)

    def in_flight(self):
        """Claimed for an attempt whose call is being dialled or held."""
        return self.filter(state__in=IN_FLIGHT_STATES)

    def open(self):
        """Not finished: due or in flight. A campaign with none left is complete."""
        return self.filter(state__in=OPEN_STATES)


class Lead(models.Model):
    """A customer in a campaign: what to pass to the bot and where dialling stands."""

    State = LeadState
    DUE_STATES, IN_FLIGHT_STATES, OPEN_STATES = DUE_STATES, IN_FLIGHT_STATES, OPEN_STATES

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="leads")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="leads")
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Per-customer TwiML <Parameter>s for the bot."
    )
    state = models.CharField(max_length=16, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the lead may be dialled next; empty once nothing more will be tried.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The callee's IANA zone, resolved once (contact row, else the number, else the
    # campaign's default) and kept here so the dispatcher can claim zone by zone from an
    # index: a tick where no zone is in its calling window then reads nothing at all.
    timezone = models.CharField(max_length=64, blank=True, default="", db_default="")
    last_outcome = models.CharField(max_length=32, choices=Disposition, blank=True)
    last_error = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    callback_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="lead_unique_per_campaign")
        ]
        indexes = [
            # The dispatcher's claim: one zone's due leads, oldest first (LeadQuerySet.due).
            models.Index(
                fields=["campaign", "timezone", "next_attempt_at", "id"],
                condition=models.Q(state__in=DUE_STATES),
                name="lead_zone_due_idx",
            ),
            models.Index(fields=["campaign", "state"], name="lead_campaign_state_idx"),
            models.Index(fields=["state", "claimed_at"], name="lead_state_claimed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} in {self.campaign}"

    @property
    def upcoming_attempt_at(self):
        """When it is dialled next: only a lead waiting for a dial has such a time; one in a
        call or finished keeps the time it was last due, which is past."""
        return self.next_attempt_at if self.state in DUE_STATES else None


class ContactImport(models.Model):
    """One uploaded contact list and what became of every row in it.

    Counters, rejected rows and the phones seen are written in the same transaction as
    each batch of contacts, so `rows_done` is always the exact point to resume from."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the column mapping"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Existing(models.TextChoices):
        UPDATE = "update", "Update them with the file's values"
        KEEP = "keep", "Keep them as they are"

    class Duplicates(models.TextChoices):
        FIRST = "first", "Use the first row, skip later copies"
        LAST = "last", "Later copies overwrite earlier ones"

    file = models.FileField(upload_to="imports/%Y/%m/%d/", blank=True)
    original_name = models.CharField(max_length=255)
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="imports",
        help_text="Empty for a standalone contact list.",
    )
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    encoding = models.CharField(max_length=32)
    delimiter = models.CharField(max_length=1)
    # {"phone": 0, "first_name": 2, ...}: field → column index in the header.
    mapping = models.JSONField(default=dict, blank=True)
    default_country = models.CharField(max_length=2, default="US")
    existing = models.CharField(max_length=8, choices=Existing, default=Existing.UPDATE)
    duplicates = models.CharField(max_length=8, choices=Duplicates, default=Duplicates.FIRST)

    status = models.CharField(max_length=8, choices=Status, default=Status.PENDING)
    error = models.TextField(blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    blank_lines = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    kept = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    do_not_call = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched by every committed batch: a running import that stops moving has lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    BUCKETS = ["imported", "updated", "kept", "duplicate", "do_not_call", "invalid"]

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    rows_done=models.F("imported")
                    + models.F("updated")
                    + models.F("kept")
                    + models.F("duplicate")
                    + models.F("do_not_call")
                    + models.F("invalid")
                ),
                name="contactimport_every_row_in_one_bucket",
            )
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportRejection(models.Model):
    """A row that was not imported, with the reason, for the report and the CSV to fix."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField(help_text="Physical line where the row starts; the header is line 1.")
    reason = models.CharField(max_length=500)
    values = models.JSONField(default=list)

    class Meta:
        ordering = ["contact_import", "line"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportedPhone(models.Model):
    """Each number an import has met and what happened to it: how later copies in the same
    file are recognised without holding every number of a big file in memory."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="phones")
    phone = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16)
    line = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_import", "phone"], name="importedphone_unique")
        ]

    def __str__(self) -> str:
        return self.phone
