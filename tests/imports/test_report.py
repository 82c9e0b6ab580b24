"""Every row lands in exactly one bucket; rejected rows come back as a CSV to fix."""

import csv
import io

import pytest

from campaigns.imports.export import rejected_rows_csv
from campaigns.models import Customer, ImportedPhone, Lead
from tests import factory
from tests.imports.conftest import buckets, import_now

pytestmark = pytest.mark.django_db

FILE = (
    "Phone Number,First Name,Plan\n"
    "+12025550101,New,gold\n"        # imported
    "+12025550102,Known,silver\n"    # already a customer
    "+12025550103,Blocked,gold\n"    # on the do-not-call list
    "+12025550101,Again,bronze\n"    # a second copy in the file
    "555-12,=HYPERLINK(\"x\"),@sum\n"  # invalid
)


@pytest.fixture
def known():
    factory.do_not_call("+12025550103", reason="asked", source="staff")
    return factory.customer("+12025550102", first_name="Old", last_name="")


def test_every_row_is_counted_once(campaign, known):
    done = import_now(FILE, campaign)
    assert buckets(done) == {"imported": 1, "updated": 1, "do_not_call": 1, "duplicate": 1, "invalid": 1}
    assert done.rows_done == done.total_rows == 5
    known.refresh_from_db()
    assert known.first_name == "Known"
    assert sorted(Lead.objects.values_list("customer__phone", "parameters")) == [
        ("+12025550101", {"plan": "gold"}), ("+12025550102", {"plan": "silver"}),
    ]
    assert not Customer.objects.filter(phone="+12025550103").exists()


def test_keep_leaves_existing_customers_as_they_are_but_adds_them_to_the_campaign(campaign, known):
    done = import_now(FILE, campaign, existing="keep")
    assert buckets(done) == {"imported": 1, "kept": 1, "do_not_call": 1, "duplicate": 1, "invalid": 1}
    known.refresh_from_db()
    assert known.first_name == "Old"
    assert Lead.objects.filter(customer=known, campaign=campaign).exists()


def test_last_wins_lets_a_later_copy_overwrite_across_batches(campaign):
    done = import_now("phone,first_name\n+12025550101,First\n+12025550102,B\n+12025550101,Last\n",
                      campaign, duplicates="last", batch_size=2)
    assert buckets(done) == {"imported": 2, "duplicate": 1}
    assert Customer.objects.get(phone="+12025550101").first_name == "Last"


def test_first_wins_ignores_later_copies_across_batches(campaign):
    done = import_now("phone,first_name\n+12025550101,First\n+12025550102,B\n+12025550101,Last\n",
                      campaign, batch_size=2)
    assert buckets(done) == {"imported": 2, "duplicate": 1}
    assert Customer.objects.get(phone="+12025550101").first_name == "First"
    assert ImportedPhone.objects.get(phone="+12025550101").line == 2


def test_a_standalone_list_makes_customers_and_no_leads():
    done = import_now("phone,plan\n+12025550101,gold\n")
    assert buckets(done) == {"imported": 1}
    assert Customer.objects.get().attributes == {"plan": "gold"}
    assert not Lead.objects.exists()


def test_the_rejected_rows_csv_has_the_rows_the_line_and_the_reason_and_runs_nothing(known):
    done = import_now(FILE)
    rows = list(csv.reader(io.StringIO("".join(rejected_rows_csv(done)))))
    assert rows == [
        ["Phone Number", "First Name", "Plan", "Rejected on line", "Rejected because"],
        ["555-12", "'=HYPERLINK(\"x\")", "'@sum", "6", "'555-12' is not a valid phone number for US"],
    ]


def test_a_fixed_rejected_rows_csv_can_be_uploaded_again():
    first = import_now("phone,first_name\n555-12,=Ann\n")
    fixed = "".join(rejected_rows_csv(first)).replace("555-12", "202-555-0112")
    again = import_now(fixed)
    assert again.mapping["ignore"] == [2, 3]
    assert buckets(again) == {"imported": 1}
    customer = Customer.objects.get()
    assert (customer.phone, customer.first_name, customer.attributes) == ("+12025550112", "=Ann", {})
