from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one), so a
    pager keeps the page's filters."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def clock(milliseconds) -> str:
    """12345 → '0:12': a transcript line's time into the call."""
    try:
        seconds = int(milliseconds) // 1000
    except (TypeError, ValueError):
        return ""
    return f"{seconds // 60}:{seconds % 60:02d}"


# How each kind of time reads; static/js/live.js formats <time data-style> the same way in
# the browser (Intl.DateTimeFormat), for rows that arrive live.
TIME_STYLES = {"datetime": "M j, H:i T", "time": "H:i:s T", "clock": "H:i T"}


def _zone(name: str):
    try:
        return ZoneInfo(name) if name else timezone.get_current_timezone()
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.get_current_timezone()


@register.simple_tag
def when(moment, style: str = "datetime", zone: str = "") -> str:
    """A <time> that names its zone: the staff member's (the active zone), or `zone` (a
    callee's), which the browser keeps when it formats the time again."""
    if not moment:
        return "—"
    text = dateformat.format(moment.astimezone(_zone(zone)), TIME_STYLES[style])
    if zone:
        return format_html('<time datetime="{}" data-style="{}" data-zone="{}">{}</time>',
                           moment.isoformat(), style, zone, text)
    return format_html('<time datetime="{}" data-style="{}">{}</time>', moment.isoformat(), style, text)
