"""The dashboard's notice of endpoints disabled for failing: on every staff page, since
results silently not reaching the CRM is what staff most need to hear about."""

from django.utils.functional import SimpleLazyObject

from campaigns.webhooks.models import Endpoint


def disabled_endpoints(request) -> dict:
    user = getattr(request, "user", None)
    if not (user and user.is_staff):
        return {}
    # Lazy: pages that never render the notice (JSON views, the admin) query nothing.
    return {"disabled_webhook_endpoints": SimpleLazyObject(
        lambda: list(Endpoint.objects.filter(enabled=False).exclude(disabled_reason="")[:5]))}
