"""The two ways an import is stored — COPY and set-based upserts on PostgreSQL, the ORM on
SQLite — give the same customers, leads and report. The tests run on PostgreSQL, so the
ORM way is forced by switching COPY off."""

import pytest
from django.utils import timezone

from campaigns.imports import writing
from campaigns.models import Customer, ImportedPhone, Lead
from tests import factory
from tests.imports.conftest import buckets, import_now

pytestmark = pytest.mark.django_db

FILE = (
    "phone,first_name,email,plan\n"
    "+12025550101,New,new@example.com,gold\n"   # imported
    "+12025550102,Known,,silver\n"              # already a customer
    "+12025550103,Blocked,,gold\n"              # on the do-not-call list
    "+12025550101,Again,,bronze\n"              # a second copy, in the next batch
    "555-12,Bad,,x\n"                           # invalid
)


@pytest.fixture(params=["copy", "orm"])
def way(request, monkeypatch):
    if request.param == "orm":
        monkeypatch.setattr(writing, "use_copy", lambda: False)
    return request.param


@pytest.fixture
def known():
    factory.do_not_call("+12025550103", reason="asked", source="staff")
    return factory.customer("+12025550102", first_name="Old", last_name="", attributes={"plan": "none"})


def test_postgresql_takes_the_copy_way():
    assert writing.use_copy()


def test_it_counts_stores_and_remembers_the_same_either_way(way, campaign, known):
    done = import_now(FILE, campaign, batch_size=3)
    assert buckets(done) == {"imported": 1, "updated": 1, "do_not_call": 1, "duplicate": 1, "invalid": 1}
    assert sorted(Customer.objects.values_list("phone", "first_name", "email", "timezone", "attributes")) == [
        ("+12025550101", "New", "new@example.com", "America/New_York", {"plan": "gold"}),
        ("+12025550102", "Known", "", "", {"plan": "silver"}),  # no time zone column: left as it was
    ]
    assert sorted(Lead.objects.values_list("customer__phone", "parameters")) == [
        ("+12025550101", {"plan": "gold"}), ("+12025550102", {"plan": "silver"}),
    ]
    assert sorted(ImportedPhone.objects.values_list("phone", "outcome", "line")) == [
        ("+12025550101", "imported", 2), ("+12025550102", "updated", 3), ("+12025550103", "do_not_call", 4),
    ]


def test_new_leads_get_the_models_defaults_either_way(way, campaign):
    before = timezone.now()
    import_now("phone\n+12025550101\n", campaign)
    lead = Lead.objects.get()
    assert (lead.state, lead.attempts, lead.last_outcome, lead.last_error, lead.notes) == (
        Lead.State.PENDING, 0, "", "", ""
    )
    assert (lead.claimed_at, lead.callback_at) == (None, None)
    assert before <= lead.next_attempt_at <= timezone.now()
    assert before <= lead.created_at <= timezone.now()
    assert before <= lead.customer.created_at <= lead.customer.updated_at <= timezone.now()


def test_an_update_changes_only_the_mapped_fields_either_way(way, known):
    created = known.created_at
    import_now("phone,first_name\n+12025550102,Known\n")
    known.refresh_from_db()
    assert (known.first_name, known.attributes) == ("Known", {"plan": "none"})  # no parameter columns
    assert known.created_at == created < known.updated_at


def test_a_second_import_updates_the_leads_parameters_unless_told_to_keep(way, campaign, known):
    import_now("phone,plan\n+12025550102,gold\n", campaign)
    import_now("phone,plan\n+12025550102,silver\n", campaign)
    assert Lead.objects.get().parameters == {"plan": "silver"}

    done = import_now("phone,plan\n+12025550102,bronze\n", campaign, existing="keep")
    assert buckets(done) == {"kept": 1}
    assert Lead.objects.get().parameters == {"plan": "silver"}
    assert Customer.objects.get().attributes == {"plan": "silver"}


def test_keep_still_adds_a_known_customer_to_a_new_campaign_either_way(way, campaign, known):
    done = import_now("phone,plan\n+12025550102,gold\n", campaign, existing="keep")
    assert buckets(done) == {"kept": 1}
    assert Lead.objects.get().parameters == {"plan": "gold"}
    known.refresh_from_db()
    assert (known.first_name, known.attributes) == ("Old", {"plan": "none"})


def test_last_wins_across_batches_either_way(way, campaign):
    done = import_now("phone,plan\n+12025550101,first\n+12025550102,b\n+12025550101,last\n",
                      campaign, duplicates="last", batch_size=2)
    assert buckets(done) == {"imported": 2, "duplicate": 1}
    assert Lead.objects.get(customer__phone="+12025550101").parameters == {"plan": "last"}
    assert Customer.objects.get(phone="+12025550101").attributes == {"plan": "last"}
