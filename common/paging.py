"""Keyset pagination: "next" and "previous" by id instead of OFFSET, so page 2,000 of a
million calls costs what page 1 does, and no COUNT(*) runs on every render."""

from dataclasses import dataclass, field


@dataclass
class KeysetPage:
    rows: list = field(default_factory=list)
    next_cursor: int | None = None  # pass as ?after=
    prev_cursor: int | None = None  # pass as ?before=


def _cursor(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def keyset_page(queryset, params, size: int = 50, newest_first: bool = False) -> KeysetPage:
    """One page of `queryset` ordered by id (ascending, or descending with newest_first),
    positioned by ?after=<id> or ?before=<id> in `params`."""
    after, before = _cursor(params.get("after")), _cursor(params.get("before"))
    forward, backward = ("-id", "id") if newest_first else ("id", "-id")
    past = "id__lt" if newest_first else "id__gt"
    ahead = "id__gt" if newest_first else "id__lt"
    if before:
        rows = list(queryset.filter(**{ahead: before}).order_by(backward)[: size + 1])
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return KeysetPage(rows, next_cursor=rows[-1].pk if rows else None,
                          prev_cursor=rows[0].pk if rows and more_before else None)
    if after:
        queryset = queryset.filter(**{past: after})
    rows = list(queryset.order_by(forward)[: size + 1])
    more_after = len(rows) > size
    rows = rows[:size]
    return KeysetPage(rows, next_cursor=rows[-1].pk if rows and more_after else None,
                      prev_cursor=rows[0].pk if rows and after else None)
