from zoneinfo import available_timezones

from django.conf import settings
from django.db import models


def zone_choices() -> list[tuple[str, str]]:
    zones = sorted(available_timezones())
    return [("", "My browser's time zone")] + [(zone, zone.replace("_", " ")) for zone in zones]


class StaffProfile(models.Model):
    """A staff member's own settings. Blank time zone: the browser's."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="staff_profile")
    time_zone = models.CharField(max_length=64, blank=True, choices=zone_choices,
                                 help_text="Times on every page are shown in this zone.")
    phone = models.CharField(
        "your phone number", max_length=32, blank=True,
        help_text="Where a call you take over from its page rings. Remembered from your last take-over.")

    def __str__(self) -> str:
        return f"{self.user}'s settings"
