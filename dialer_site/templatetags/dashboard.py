from django import template

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
def humanize_metric(name: str) -> str:
    """'stt_ms' → 'STT', 'first_response_ms' → 'First response'."""
    words = name.removesuffix("_ms").replace("_", " ").strip()
    return words.upper() if len(words) <= 3 else words.capitalize()


@register.filter
def clock(milliseconds) -> str:
    """12345 → '0:12': a transcript line's time into the call."""
    try:
        seconds = int(milliseconds) // 1000
    except (TypeError, ValueError):
        return ""
    return f"{seconds // 60}:{seconds % 60:02d}"
