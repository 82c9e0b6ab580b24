from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from dialer_site.dashboard import system
from dialer_site.health import health
from dialer_site.monitoring import metrics
from dialer_site.staff import take_over

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="campaign-list"), name="home"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("metrics", metrics, name="metrics"),  # Prometheus's default path
    path("system/", system.system, name="system"),
    path("system/status/", system.system_status, name="system-status"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("campaigns/", include("dialer_site.dashboard.urls")),
    path("", include("campaigns.imports.urls")),  # /imports/…, /campaigns/<id>/export.csv
    path("calls/<int:call_id>/take-over/", take_over.take_over, name="call-take-over"),
    path("calls/", include("calls.urls")),
    path("customers/", include("campaigns.customer_urls")),
    path("account/", include("dialer_site.staff.urls")),
    path("twilio/", include("calls.webhook_urls")),
    path("api/v1/", include("calls.api.urls")),
]

# An unknown address under /api/ answers a problem (JSON), not the HTML page.
handler404 = "calls.api.problems.not_found"
