"""Hand-off tests: a campaign with agents, a live call of Dana's, and a stand-in for Twilio's
REST API that records what the product asked of it; for the end-to-end tests, the Twilio
emulator with callers and agents, and a real daphne (tests/botruntime's) it calls."""

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import redis
from twilio.base.exceptions import TwilioRestException

from calls import transfers
from calls.dialer import pacing, reaper
from calls.models import Call
from campaigns.models import Lead
from tests import factory
from tests.botruntime.conftest import ACCOUNT_SID, AUTH_TOKEN, daphne, voices  # noqa: F401 (fixtures)
from tests.web_processes import forget_all, web_process
from tests.webhooks.conftest import twilio_post, twilio_signature  # noqa: F401 (fixtures)
from twilio_emulator import EmulatorThread, Scenario, Timing

AGENT_1, AGENT_2 = "+12025550181", "+12025550182"  # (the end-to-end tests' agents: below)


@dataclass
class FakeTwilio:
    """What the product asked of Twilio: `updates` (CallSid, fields) and `created` calls. A
    REST error code in `refuse_update` / `refuse_create` makes that request fail."""

    updates: list = field(default_factory=list)
    created: list = field(default_factory=list)
    refuse_update: int | None = None
    refuse_create: int | None = None
    # Twilio's records of agent legs: a fetched call's status by CallSid (default in-progress),
    # and the legs GET Calls.json?ParentCallSid= lists (SimpleNamespace: sid, to, status, duration).
    statuses: dict = field(default_factory=dict)
    children: list = field(default_factory=list)

    def __call__(self, timeout=None):
        return self

    @property
    def calls(self):
        fake = self

        class Calls:
            def __call__(self, sid):
                def update(**fields):
                    if fake.refuse_update:
                        raise TwilioRestException(400, "/Calls", "refused", code=fake.refuse_update)
                    fake.updates.append((sid, fields))

                def fetch():  # a live call, as Twilio says of one ringing an agent or holding
                    return SimpleNamespace(sid=sid, status=fake.statuses.get(sid, "in-progress"),
                                           duration=None, answered_by=None, start_time=None,
                                           end_time=None, price=None, price_unit=None)
                return SimpleNamespace(update=update, fetch=fetch)

            def list(self, parent_call_sid=None, limit=None):
                return [leg for leg in fake.children if leg.parent == parent_call_sid]

            def create(self, **fields):
                if fake.refuse_create:
                    raise TwilioRestException(400, "/Calls", "refused", code=fake.refuse_create)
                fake.created.append(fields)
                return SimpleNamespace(sid=f"CA{'f' * 24}{len(fake.created):08x}")

        return Calls()

    def twiml_of(self, sid: str) -> str:
        """The last TwiML this call was given."""
        return [fields["twiml"] for s, fields in self.updates if s == sid and "twiml" in fields][-1]


@pytest.fixture
def twilio(monkeypatch):
    fake = FakeTwilio()
    monkeypatch.setattr(transfers, "twilio_client", fake)
    monkeypatch.setattr(reaper, "twilio_client", fake)
    return fake


@pytest.fixture
def campaign(db):
    return factory.offers_campaign(caller_id="+12025550100", transfer_targets=[AGENT_1, AGENT_2])


@pytest.fixture
def live_call(campaign):
    """Dana's call, answered, the bot talking with her on its media stream."""
    dana = factory.dana("+12025550123")
    lead = factory.lead(campaign, dana, state=Lead.State.IN_CALL, attempts=1)
    call = factory.call(lead, from_number="+12025550100", stream_sid="MZ" + "1" * 32)
    return factory.answer(call)


def refreshed(row):
    row.refresh_from_db()
    return row


def a_live_call(campaign) -> Call:
    return factory.answer(factory.call(factory.lead(campaign), from_number="+12025550100"))


# -- end to end -----------------------------------------------------------------------------

# The emulator's agents: AGENT_1 answers and talks, AGENT_2 never answers, AGENT_BRIEFED
# listens for the warm hand-off's briefing before saying hello, AGENT_DECLINES refuses the
# call, AGENT_LEAVES_THE_BRIEFING hangs up before the briefing is over.
OUR_NUMBER = "+12025550100"
AGENT_BRIEFED = "+12025550183"
AGENT_DECLINES, AGENT_LEAVES_THE_BRIEFING = "+12025550184", "+12025550185"
INTERESTED = {"say": "Yes, I am interested. Tell me more."}
YES_PLEASE = {"say": "That sounds good. Yes please."}
CALL_ME_BACK = {"say": "Please call me back tomorrow at ten."}

SCENARIO = {
    "defaults": {"ring": 0.1, "turn_silence": 0.6, "first_turn_timeout": 8},
    "callees": [
        # Dana, whom an agent takes: she stays on the line until the agent hangs up.
        {"pattern": "61$", "name": "wants-an-agent", "script": [
            INTERESTED, YES_PLEASE, {"hangup_after": 60}]},
        # Dana, back with the bot when no agent came (or still with it outside agent hours):
        # she asks for the callback it offers.
        {"pattern": "62$", "name": "back-with-the-bot", "script": [
            INTERESTED, YES_PLEASE, {"expect": {"text": "call you back", "within": 60}}, CALL_ME_BACK,
            {"hangup_after": 90}]},
        # Dana, who answers the bot's first words with a key: 1 for a person, 9 never again.
        {"pattern": "63$", "name": "presses-one", "script": [
            {"say": "Hello?"}, {"dtmf": "1"}, {"hangup_after": 60}]},
        {"pattern": "64$", "name": "presses-nine", "script": [
            {"say": "Hello?"}, {"dtmf": "9"}, {"hangup_after": 60}]},
        {"pattern": "81$", "name": "agent", "ring": 1, "script": [
            {"say": "Hello, this is Sam from the sales team."}, {"hangup_after": 6}]},
        {"pattern": "82$", "name": "agent-away", "behaviour": "no-answer"},
        {"pattern": "83$", "name": "agent-briefed", "ring": 1, "script": [
            {"expect": {"text": "Dana Reyes is waiting to speak with you, interested in the offer",
                        "within": 30}},
            {"say": "Hello Dana, this is Sam."}, {"hangup_after": 20}]},
        {"pattern": "84$", "name": "agent-declines", "behaviour": "decline", "ring": 1},
        # Answers, and hangs up while the bot is still telling who is waiting.
        {"pattern": "85$", "name": "agent-leaves-the-briefing", "ring": 1, "script": [{"hangup_after": 2}]},
    ],
    "fallback": {"name": "polite", "script": [{"say": "Hello? Who is this?"}, {"hangup_after": 30}]},
}


@pytest.fixture(scope="session")
def emulator():
    """The Twilio emulator with callers and agents; the imported `daphne` fixture points it at
    the web process."""
    with EmulatorThread(ACCOUNT_SID, AUTH_TOKEN, scenario=Scenario.load(SCENARIO), cps=50,
                        timing=Timing(hangup_wait_seconds=1.0)) as twilio:
        yield twilio


@pytest.fixture
def product(daphne, emulator, worker, settings):  # noqa: F811 (daphne: the imported fixture)
    """The test process (its Celery worker and status-callback applier) speaks to the same
    emulator and names the same public address as daphne; one web process has room."""
    settings.PUBLIC_BASE_URL = daphne.base_url
    settings.TWILIO_API_BASE_URL = emulator.base_url
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
    settings.WEB_HEARTBEAT_SECONDS = 3600
    redis.Redis.from_url(settings.REDIS_URL).delete(*pacing.KEYS)
    forget_all()
    web_process("tests-web", 100)
    yield daphne
    forget_all()


