import pytest

from tests import factory
from tests.dashboard.browser import chromium


@pytest.fixture
def campaign(db):
    return factory.campaign()


@pytest.fixture
def live_call(campaign):
    """A call in progress with two transcript lines."""
    call = factory.answer(factory.call(factory.lead(campaign, state="in_call")))
    factory.line(call, "bot", "Hello Ada, this is the assistant from Summer sale.", 300)
    factory.line(call, "caller", "Oh hi, what's this about?", 2100)
    return call


@pytest.fixture
def boss(db):
    """The staff member the browser tests log in as."""
    return factory.superuser("boss", "pw-boss-12345")


@pytest.fixture
def chrome():
    with chromium() as browser:
        yield browser
