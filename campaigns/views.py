from django.db.models import Count, Q
from django.shortcuts import render

from campaigns.models import Campaign, Lead
from dialer_site.access import staff_required

FINISHED_LEAD_STATES = [Lead.State.DONE, Lead.State.FAILED, Lead.State.DO_NOT_CALL, Lead.State.CANCELLED]


@staff_required
def campaign_list(request):
    campaigns = Campaign.objects.annotate(
        lead_total=Count("leads"),
        lead_done=Count("leads", filter=Q(leads__state__in=FINISHED_LEAD_STATES)),
    )
    return render(request, "campaigns/campaign_list.html", {"campaigns": campaigns})
