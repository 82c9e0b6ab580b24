"""A campaign's lead figures, for everyone who shows them (the dashboard's pages and the
API's stats): one GROUP BY over (campaign, state, last_outcome) answers every question at
once, so a page costs the same with a hundred leads or a hundred thousand."""

from django.db.models import Count

from campaigns.models import Disposition, Lead

# Leads that will not be called again: every state but the open ones.
FINISHED_LEAD_STATES = [state for state in Lead.State if state not in Lead.OPEN_STATES]
# Someone (not a machine) picked up: every outcome the bot can reach in a conversation.
ANSWERED_OUTCOMES = [
    Disposition.INTERESTED, Disposition.NOT_INTERESTED, Disposition.CALLBACK_REQUESTED,
    Disposition.WRONG_NUMBER, Disposition.DO_NOT_CALL, Disposition.HUNG_UP, Disposition.COMPLETED,
    Disposition.TRANSFERRED,
]


def lead_breakdowns(campaign_ids: list[int]) -> dict[int, dict]:
    """Per campaign: lead total, done, counts by state and by last outcome, answer rate.
    One GROUP BY over (campaign, state, last_outcome) answers every question at once."""
    rows = (
        Lead.objects.filter(campaign_id__in=campaign_ids)
        .values("campaign_id", "state", "last_outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    result = {cid: _empty_breakdown() for cid in campaign_ids}
    for row in rows:
        b = result[row["campaign_id"]]
        b["total"] += row["n"]
        b["by_state"][row["state"]] = b["by_state"].get(row["state"], 0) + row["n"]
        if row["state"] in FINISHED_LEAD_STATES:
            b["done"] += row["n"]
        if row["last_outcome"]:
            b["by_outcome"][row["last_outcome"]] = b["by_outcome"].get(row["last_outcome"], 0) + row["n"]
        b["grouped"][(row["state"], row["last_outcome"])] = row["n"]
    for b in result.values():
        reached = sum(b["by_outcome"].get(o, 0) for o in ANSWERED_OUTCOMES)
        tried = sum(b["by_outcome"].values())
        b["answer_rate"] = round(100 * reached / tried) if tried else None
        b["percent_done"] = round(100 * b["done"] / b["total"]) if b["total"] else 0
        b["outcomes"] = [
            {"value": d.value, "label": d.label, "count": b["by_outcome"][d.value]}
            for d in Disposition if b["by_outcome"].get(d.value)
        ]
    return result


def transfer_figures(campaign) -> dict:
    """The campaign's hand-offs to a person (its calls, through the reverse relation: the
    campaigns app knows no calls module): `transfer_rate`, the share of the calls a person
    answered that were handed off; `agent_answer_rate`, the share of agents rung who answered."""
    figures = campaign.calls.counted().transfer_figures()
    figures["transfer_rate"] = _percent(figures["handed_off"], figures["answered"])
    figures["agent_answer_rate"] = _percent(figures["agents_answered"], figures["agents_rung"])
    return figures


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _empty_breakdown() -> dict:
    return {"total": 0, "done": 0, "by_state": {}, "by_outcome": {}, "grouped": {}}
