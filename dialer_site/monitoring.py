"""GET /metrics: this web process's Prometheus metrics (calls.metrics says what they are).

Protected by a bearer token, `METRICS_TOKEN`, because Prometheus cannot sign in: configure the
scrape job with `authorization: {credentials: <token>}`. A signed-in staff member may read it
too (a person looking); with no token set, only staff can. The figures are not secret the way
calls are, but they tell an outsider how busy the product is, and which campaigns exist."""

import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


def _bearer_token_matches(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(settings.METRICS_TOKEN) and scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode())


@require_GET
def metrics(request):
    if not (_bearer_token_matches(request) or request.user.is_staff):
        response = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
