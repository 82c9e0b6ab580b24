"""Claiming due leads: one short transaction per campaign that locks the oldest due leads
of the zones whose calling window is open (SKIP LOCKED, so many workers share the work
without double claims), moves them to DIALING with the attempt counted, and gives each its
Call row — all or nothing. The calls are placed by calls.dialer.placing."""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls import capacity, live
from calls.models import Call
from campaigns import caller_ids, calling_window, lifecycle
from campaigns.models import Campaign, Customer, DoNotCall, Lead

# One claim transaction stays short however large the campaign: concurrency caps it lower.
CLAIM_BATCH_MAX = 50
# Leads whose zone is not known yet, resolved per tick: enough for a small list dialled
# while it is imported; the resolve_lead_zones task does big lists in bulk.
RESOLVE_PER_TICK = 50
RESOLVE_PER_TASK = 20_000
# pg_advisory_xact_lock(namespace, 0): claims of every campaign take turns counting the web
# processes' room (campaigns/imports uses 7001, the do-not-call numbers 7002).
WEB_ROOM_LOCK_NAMESPACE = 7003

# Every distinct zone among a campaign's callable leads, by a loose index scan: one probe
# of lead_zone_due_idx per zone instead of a read of every lead.
CAMPAIGN_ZONES_SQL = """
WITH RECURSIVE zones(timezone) AS (
    SELECT MIN(timezone) FROM campaigns_lead WHERE campaign_id = %s AND state IN ('pending', 'retry')
  UNION ALL
    SELECT (SELECT MIN(timezone) FROM campaigns_lead
            WHERE campaign_id = %s AND state IN ('pending', 'retry') AND timezone > zones.timezone)
    FROM zones WHERE zones.timezone IS NOT NULL
)
SELECT timezone FROM zones WHERE timezone IS NOT NULL
"""  # the states are Lead.DUE_STATES, and must match lead_zone_due_idx's condition


def campaign_zones(campaign: Campaign) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(CAMPAIGN_ZONES_SQL, [campaign.pk, campaign.pk])
        return [zone for (zone,) in cursor.fetchall()]


def due_leads(campaign: Campaign, zone: str, now: datetime):
    """One zone's leads the campaign may dial now, oldest due first (lead_zone_due_idx)."""
    leads = (
        Lead.objects.due().filter(campaign=campaign, timezone=zone, next_attempt_at__lte=now)
        .filter(Q(attempts__lt=campaign.max_attempts) | Q(callback_at__isnull=False))
        .exclude(Exists(DoNotCall.objects.of(OuterRef("customer__phone"))))
        .order_by("next_attempt_at", "id")
    )
    if campaign.max_attempts_per_day:  # counted from midnight in the zone (the lead FK's index)
        today = (Call.objects.dialled_since(calling_window.local_midnight(zone, now))
                 .filter(lead=OuterRef("pk")).order_by().values("lead").annotate(n=Count("pk")).values("n"))
        leads = leads.alias(dialled_today=Coalesce(Subquery(today), 0)).filter(
            dialled_today__lt=campaign.max_attempts_per_day)
    return leads


def resolve_zones(campaign: Campaign, limit: int, *, in_bulk: bool = False) -> int:
    """Give up to `limit` callable leads without a zone theirs; returns how many.

    In bulk (the periodic task), leads whose contact has a zone take it in one statement
    first; a tick only looks up a few hundred one by one, cheaply, by the same rule."""
    blank = Lead.objects.due().filter(campaign=campaign, timezone="").order_by()
    resolved = 0
    if in_bulk:
        from_contacts = Customer.objects.filter(pk=OuterRef("customer_id")).exclude(timezone="").order_by()
        resolved = Lead.objects.filter(
            pk__in=blank.filter(Exists(from_contacts)).values("pk")[:limit]
        ).update(timezone=Subquery(from_contacts.values("timezone")[:1]))
    rest = list(blank.select_related("customer")[: max(limit - resolved, 0)])
    for lead in rest:
        lead.timezone = calling_window.customer_zone(lead.customer, campaign)
    Lead.objects.bulk_update(rest, ["timezone"], batch_size=1000)
    return resolved + len(rest)


def outbound_parameters(customer: Customer, campaign: Campaign | None, extra: dict) -> dict[str, str]:
    """The <Parameter>s for the bot (connect_to_bot adds our call id): the contact list's own
    columns (`extra`) first, so they can never shadow ours."""
    parameters = {name: str(value) for name, value in extra.items()}
    parameters |= {
        "call_type": "outbound",
        "caller_id": customer.phone,
        "customer_id": str(customer.pk),
        "customer_name": customer.full_name,
        "first_name": customer.first_name,
        "session_type": "sales" if campaign else "general",
    }
    if campaign:
        parameters["campaign_id"] = campaign.slug or str(campaign.pk)
    return parameters


def live_call_count(campaign: Campaign) -> int:
    """The calls holding the campaign's concurrency slots. A test call ("Call me", "Talk in the
    browser") holds none: staff trying the bot must not starve the campaign's own calls, and a
    full campaign never refuses them. It still takes a stream of the web processes and a
    calls-per-second token, like every call the account makes (capacity.web_room, the pacer)."""
    return Call.objects.counted().live().filter(campaign=campaign).count()


def _one_web_room_count_at_a_time() -> None:
    """Two campaigns claiming at once must not both spend the same free streams: the second
    counts after the first committed its calls (which then wait for a stream). SQLite's
    IMMEDIATE transactions already take turns."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [WEB_ROOM_LOCK_NAMESPACE])


def claim_due_leads(campaign_id: int, now: datetime | None = None) -> list[int]:
    """Claim as many due leads as the campaign's concurrency and the live web processes'
    room allow (a call with no process to take its media stream would be wasted: with no web
    process live nothing is dialled); return their Call ids."""
    now = now or timezone.now()
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.RUNNING:
        return []
    if campaign.ends_at and now >= campaign.ends_at:
        lifecycle.complete_at_end_date(campaign)
        return []
    # A quick look first, so a full campaign costs two reads; the count that decides is
    # taken again below, under the campaign's lock.
    if live_call_count(campaign) >= campaign.max_concurrent_calls:
        return []
    zones = campaign_zones(campaign)
    if "" in zones:
        resolve_zones(campaign, RESOLVE_PER_TICK)
        zones = campaign_zones(campaign)
    open_zones = [zone for zone in zones if zone and calling_window.is_open(zone, campaign, now)]
    if not open_zones or not capacity.web_room().calls:
        return []
    if caller_ids.unavailable(campaign, now):  # every pool number refused or at its cap today
        return []
    with transaction.atomic():
        # One claim per campaign at a time: the live calls are counted after the last
        # claimer committed, so dispatchers running at once never exceed the cap together.
        # The same lock makes a pause or cancel wait for the claim, or be seen by it.
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        _one_web_room_count_at_a_time()
        room = min(campaign.max_concurrent_calls - live_call_count(campaign), CLAIM_BATCH_MAX,
                   capacity.web_room().calls)
        if campaign.status != Campaign.Status.RUNNING or room <= 0:
            return []
        # The oldest due across the open zones, read from the index alone; then only those
        # rows are locked and loaded. One a worker claimed meanwhile is skipped (locked) or
        # no longer due (committed), so it is never claimed twice.
        picks = sorted(
            pick for zone in open_zones
            for pick in due_leads(campaign, zone, now).values_list("next_attempt_at", "pk")[:room]
        )[:room]
        oldest = list(
            Lead.objects.due().filter(pk__in=[pk for _, pk in picks])
            .select_related("customer")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
        )
        leads = _still_in_window(oldest, campaign, now)
        calls = _claim(leads, campaign, now)
    return [call.pk for call in calls]


def _still_in_window(leads: list[Lead], campaign: Campaign, now: datetime) -> list[Lead]:
    """The contact's zone is the truth (a re-import may have corrected it since the lead's
    copy was made): follow it, and hold back anyone whose real window is closed."""
    moved = []
    for lead in leads:
        zone = calling_window.customer_zone(lead.customer, campaign)
        if zone != lead.timezone:
            lead.timezone = zone
            moved.append(lead)
    Lead.objects.bulk_update(moved, ["timezone"])
    return [lead for lead in leads if calling_window.is_open(lead.timezone, campaign, now)]


def _claim(leads: list[Lead], campaign: Campaign, now: datetime) -> list[Call]:
    """Count the attempt on each lead and create its Call row: two statements in all."""
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        state=Lead.State.DIALING, claimed_at=now, updated_at=now, attempts=F("attempts") + 1,
        last_outcome="", last_error="", callback_at=None,  # the new attempt's verdict starts empty
    )
    for lead in leads:  # the rows are locked: memory and database agree
        lead.attempts += 1
    calls = Call.objects.bulk_create([
        Call(direction=Call.Direction.OUTBOUND, campaign=campaign, customer=lead.customer, lead=lead,
             attempt=lead.attempts, from_number=campaign.caller_id, to_number=lead.customer.phone,
             parameters=outbound_parameters(lead.customer, campaign, lead.parameters))
        for lead in leads
    ])
    live.publish_new_calls(calls)
    return calls

