from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from calls.api import calls, campaigns, lists, webhooks
from common.access import staff_required

urlpatterns = [
    path("calls/", calls.CallList.as_view(), name="api-call-list"),
    path("calls/<int:call_id>/", calls.CallDetail.as_view(), name="api-call-detail"),
    path("calls/<int:call_id>/recording/", calls.CallRecording.as_view(), name="api-call-recording"),
    path("campaigns/", campaigns.CampaignList.as_view(), name="api-campaign-list"),
    path("campaigns/<int:campaign_id>/", campaigns.CampaignDetail.as_view(), name="api-campaign-detail"),
    path("campaigns/<int:campaign_id>/start/", campaigns.start, name="api-campaign-start"),
    path("campaigns/<int:campaign_id>/pause/", campaigns.pause, name="api-campaign-pause"),
    path("campaigns/<int:campaign_id>/resume/", campaigns.resume, name="api-campaign-resume"),
    path("campaigns/<int:campaign_id>/cancel/", campaigns.cancel, name="api-campaign-cancel"),
    path("campaigns/<int:campaign_id>/stats/", campaigns.CampaignStats.as_view(), name="api-campaign-stats"),
    path("campaigns/<int:campaign_id>/leads/", campaigns.CampaignLeads.as_view(), name="api-campaign-leads"),
    path("leads/<int:lead_id>/", campaigns.LeadDetail.as_view(), name="api-lead-detail"),
    path("do-not-call/", lists.DoNotCallList.as_view(), name="api-dnc-list"),
    path("do-not-call/<str:phone>/", lists.DoNotCallEntry.as_view(), name="api-dnc-entry"),
    path("imports/", lists.ImportList.as_view(), name="api-import-list"),
    path("imports/<int:import_id>/", lists.ImportDetail.as_view(), name="api-import-detail"),
    path("imports/<int:import_id>/report/", lists.ImportReport.as_view(), name="api-import-report"),
    path("webhooks/", webhooks.EndpointList.as_view(), name="api-webhook-list"),
    path("webhooks/<int:endpoint_id>/", webhooks.EndpointDetail.as_view(), name="api-webhook-detail"),
    path(
        "webhooks/<int:endpoint_id>/rotate-secret/",
        webhooks.RotateSecret.as_view(),
        name="api-webhook-rotate",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        webhooks.DeliveryLog.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver/",
        webhooks.Redeliver.as_view(),
        name="api-webhook-redeliver",
    ),
    # The schema is public (it shows the API's shape, no data); the page rendering it is for staff.
    path(
        "openapi.json",
        SpectacularJSONAPIView.as_view(
            authentication_classes=[], permission_classes=[AllowAny], throttle_classes=[]
        ),
        name="api-schema",
    ),
    path(
        "docs/",
        staff_required(
            SpectacularSwaggerView.as_view(
                url_name="api-schema", authentication_classes=[], permission_classes=[AllowAny]
            )
        ),
        name="api-docs",
    ),
]
