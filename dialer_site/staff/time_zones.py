"""Whose clock the pages show: the staff member's profile zone, else the browser's (live.js
keeps it in a cookie), else UTC. The profile's zone is copied into the session at login and
when changed, so a page costs no query for it."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

SESSION_KEY = "staff_time_zone"
BROWSER_COOKIE = "browser_time_zone"


def remember_profile_zone(sender, request, user, **kwargs) -> None:
    from dialer_site.staff.models import StaffProfile

    zone = StaffProfile.objects.filter(user=user).values_list("time_zone", flat=True).first()
    request.session[SESSION_KEY] = zone or ""


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


class StaffTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = _zone(request.session.get(SESSION_KEY, "")) if hasattr(request, "session") else None
        zone = chosen or _zone(request.COOKIES.get(BROWSER_COOKIE, ""))
        # base.html tells live.js which zone to format live times in; None: the browser's.
        request.time_zone_chosen = chosen.key if chosen else ""
        if zone:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        return self.get_response(request)
