"""Each row's phone, email, time zone and parameters; a bad row never stops the import."""

import pytest

from campaigns.models import ContactImport, Customer, Lead
from tests.imports.conftest import buckets, import_now, reasons

pytestmark = pytest.mark.django_db


def test_it_reads_phone_numbers_as_people_write_them():
    done = import_now(
        "phone,country\n"
        "(202) 555-0101,\n202.555.0102,\n202 555 0103,\n+1 202-555-0104,\n001 202 555 0105,\n"
        "0044 20 7946 0000,\n",
    )
    assert buckets(done) == {"imported": 6}
    assert sorted(Customer.objects.values_list("phone", flat=True)) == [
        "+12025550101", "+12025550102", "+12025550103", "+12025550104", "+12025550105", "+442079460000",
    ]


def test_it_uses_the_default_country_for_national_numbers():
    import_now("phone\n020 7946 0000\n", country="GB")
    assert Customer.objects.get().phone == "+442079460000"


def test_it_rejects_impossible_numbers_with_the_line_and_a_reason():
    done = import_now("phone,first_name\n+12025550101,Ann\n555-12,Bob\n,Cy\n+1 000 000 0000,Di\n")
    assert buckets(done) == {"imported": 1, "invalid": 3}
    assert reasons(done) == [
        "line 3: '555-12' is not a valid phone number for US",
        "line 4: the phone number is missing",
        "line 5: '+1 000 000 0000' is not a valid phone number for US",
    ]


def test_a_time_zone_must_be_an_iana_name():
    done = import_now("phone,tz\n+12025550101,europe/paris\n+12025550102,Mars/Olympus\n+12025550103,\n")
    assert buckets(done) == {"imported": 2, "invalid": 1}
    assert reasons(done) == [
        "line 3: 'Mars/Olympus' is not a time zone name (use one like America/New_York)"
    ]
    zones = dict(Customer.objects.values_list("phone", "timezone"))
    assert zones["+12025550101"] == "Europe/Paris"
    assert zones["+12025550103"] == "America/New_York"  # from the number when the file has none


def test_an_email_must_look_like_one():
    done = import_now("phone,email\n+12025550101,ann@example.com\n+12025550102,bob(at)example\n")
    assert reasons(done) == ["line 3: 'bob(at)example' is not a valid email address"]


def test_extra_columns_become_safe_parameter_names_with_capped_values(campaign):
    done = import_now(
        "phone,Plan Name,1st order,Prénom-Ville,plan name,=cmd\n"
        f"+12025550101,Gold,2024,Lyon,dup,{'x' * 900}\n",
        campaign,
    )
    assert done.status == ContactImport.Status.DONE
    parameters = Lead.objects.get().parameters
    assert parameters == {
        "plan_name": "Gold", "c_1st_order": "2024", "prenom_ville": "Lyon", "plan_name_2": "dup",
        "cmd": "x" * 500,
    }
    assert Customer.objects.get().attributes == parameters


def test_a_field_over_128_kb_rejects_only_its_row():
    huge = "y" * (129 * 1024)
    done = import_now(
        f"phone,note\n+12025550101,ok\n+12025550102,{huge}\n+12025550103,\"{huge}\"\n+12025550104,ok\n"
    )
    assert buckets(done) == {"imported": 2, "invalid": 2}
    assert reasons(done) == [
        "line 3: the value in 'note' is longer than 128 KB",
        "line 4: the value in 'note' is longer than 128 KB",
    ]


def test_a_row_the_csv_reader_cannot_read_is_rejected_and_the_import_goes_on():
    runaway = "z" * (9 * 1024 * 1024)  # past even the raised csv.field_size_limit
    done = import_now(f"phone,note\n+12025550101,ok\n+12025550102,{runaway}\n+12025550103,ok\n")
    assert buckets(done) == {"imported": 2, "invalid": 1}
    assert reasons(done)[0].startswith("line 3: could not be read as CSV (field larger than field limit")


def test_a_row_with_more_values_than_columns_is_rejected():
    done = import_now("phone,first_name\n+12025550101,Ann,,\n+12025550102,Bob,surprise\n")
    assert buckets(done) == {"imported": 1, "invalid": 1}
    assert reasons(done) == ["line 3: has 3 values but the header has 2 columns"]


def test_a_short_row_reads_its_missing_values_as_empty(campaign):
    done = import_now("phone,first_name,last_name,plan\n+12025550101,Ann\n", campaign)
    assert buckets(done) == {"imported": 1}
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name, customer.attributes) == ("Ann", "", {})
    assert Lead.objects.get().parameters == {}


def test_a_value_over_128_kb_past_the_last_column_is_named_by_position():
    done = import_now(f"phone,note\n+12025550101,ok,{'y' * (129 * 1024)}\n")
    assert reasons(done) == ["line 2: has 3 values but the header has 2 columns"]
    done = import_now(f"phone,note\n+12025550101,ok,{' ' * (129 * 1024)}\n")  # blank, but too long
    assert reasons(done) == ["line 2: the value in 'column 3' is longer than 128 KB"]
