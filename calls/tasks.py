"""Celery tasks for calls: thin, take primitive ids, delegate to the modules that own the rows."""

from celery import shared_task
from django.conf import settings

from calls import capacity, idempotency
from calls.dialer import claiming, placing, reaper
from campaigns import lifecycle
from campaigns.models import Campaign


# Beat runs it hourly: lookups already ignore keys past their 24 hours, this only keeps
# the table from growing.
@shared_task(ignore_result=True)
def forget_expired_idempotency_keys() -> None:
    idempotency.forget_expired()


# --- Dialling ---------------------------------------------------------------------------
# Beat runs dispatch_tick every few seconds (one beat only: see the README). Each tick fans
# out one dispatch per running campaign; a tick's messages expire with the next tick, so a
# backlog after an outage never replays old ticks.
@shared_task(ignore_result=True)
def dispatch_tick() -> None:
    campaign_ids = lifecycle.campaigns_to_dispatch()
    capacity.publish_held_changes(campaign_ids)
    for campaign_id in campaign_ids:
        dispatch_campaign.apply_async((campaign_id,), expires=settings.DISPATCH_TICK_SECONDS * 2)


@shared_task(ignore_result=True)
def dispatch_campaign(campaign_id: int) -> None:
    for call_id in claiming.claim_due_leads(campaign_id):
        place_call.delay(call_id)


# Retried only when no calls-per-second token came in time: nothing was dialled then. Each
# try waits up to PACER_WAIT_SECONDS, then backs off up to 30 s; once the call has waited
# TOKEN_PATIENCE (5 min: at most ~10 tries) place_call gives the lead back, so the retries end.
# The limit is a backstop: a call past it is sent again by the reaper, and then given back.
@shared_task(ignore_result=True, autoretry_for=(placing.PacerBusy,), retry_backoff=1, retry_backoff_max=30,
             max_retries=20)
def place_call(call_id: int) -> None:
    placing.place_call(call_id)


@shared_task(ignore_result=True)
def reap_dials() -> None:
    send_again(reaper.reap())


def send_again(reaped: reaper.Reaped) -> None:
    """The calls the reaper found never sent, queued for a worker to place."""
    for call_id in reaped.requeue:
        place_call.delay(call_id)


# A million-row list imported into a running campaign gets its zones here, in bulk, so a
# dispatch tick never has to (it resolves a few hundred itself, for small lists).
@shared_task(ignore_result=True)
def resolve_lead_zones() -> None:
    for campaign in Campaign.objects.filter(status__in=[Campaign.Status.RUNNING, Campaign.Status.SCHEDULED]):
        claiming.resolve_zones(campaign, claiming.RESOLVE_PER_TASK, in_bulk=True)
