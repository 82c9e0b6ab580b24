"""Links to a call's recording that work without a login for a while: webhooks hand them
to the customer's CRM, which has no staff account. Signed with SECRET_KEY (Django's
signing), so the link itself is the credential, and it expires."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from calls.models import Call

VALID_FOR = timedelta(days=7)
_SALT = "calls.recording-link"


def recording_link(call: Call) -> str:
    token = signing.TimestampSigner(salt=_SALT).sign(str(call.pk))
    return settings.PUBLIC_BASE_URL + reverse("call-recording-link", args=[token])


def call_for_link(token: str) -> Call | None:
    """The call a link names, or None when it is forged or expired."""
    try:
        call_id = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=VALID_FOR)
    except signing.BadSignature:
        return None
    return Call.objects.filter(pk=int(call_id)).first()
