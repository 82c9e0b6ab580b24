"""The browser tests' settle_on: a page that shows the database once has settled, even when
the database moves on right after (the page follows it a moment later)."""

from tests.waiting import settle_on


def test_a_page_that_matched_the_database_has_settled_though_the_database_moved_on():
    database = iter(["Ringing", "Ringing", "In progress", "In progress"])
    page = iter(["Queued", "Ringing", "Ringing", "In progress"])  # a read behind the database
    settle_on(lambda: next(page), lambda: next(database), timeout=2)
