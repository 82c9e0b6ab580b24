"""Files as CRMs and spreadsheets really write them."""

import codecs

import pytest

from campaigns.imports.reading import ImportFileError
from campaigns.imports.service import create_import
from campaigns.models import ContactImport, Customer
from tests.imports.conftest import buckets, csv_file, import_now

pytestmark = pytest.mark.django_db

ROWS = "Phone,First Name,Last Name\n+12025550101,Zoë,Müller\n+12025550102,José,Núñez\n"


def names():
    return sorted(Customer.objects.values_list("first_name", "last_name"))


@pytest.mark.parametrize("data", [
    ROWS.encode("utf-8"),
    codecs.BOM_UTF8 + ROWS.encode("utf-8"),
    ROWS.encode("utf-16"),  # Excel "Unicode text" (with its BOM)
    ROWS.replace(",", "\t").encode("utf-16"),
    ROWS.encode("cp1252"),
    ROWS.encode("latin-1"),
], ids=["utf8", "utf8-bom", "utf16", "utf16-tabs", "cp1252", "latin1"])
def test_it_reads_the_common_encodings(data):
    done = import_now(data)
    assert done.status == ContactImport.Status.DONE
    assert buckets(done) == {"imported": 2}
    assert names() == [("José", "Núñez"), ("Zoë", "Müller")]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_it_sniffs_the_delimiter(delimiter):
    done = import_now(ROWS.replace(",", delimiter))
    assert done.delimiter == delimiter
    assert buckets(done) == {"imported": 2}


def test_it_reads_quoted_fields_with_newlines_and_delimiters_and_counts_lines_right():
    done = import_now(
        'phone,first_name,note\r\n'
        '+12025550101,Ann,"line one\r\nline two, with a comma"\r\n'
        '555-12,Bad,"also\nmultiline"\r\n'
    )
    assert buckets(done) == {"imported": 1, "invalid": 1}
    assert Customer.objects.get().attributes == {"note": "line one\r\nline two, with a comma"}
    # The bad row starts on physical line 4: the quoted note of line 2 took two lines.
    assert done.rejections.get().line == 4


def test_it_ignores_blank_lines_and_trailing_empty_columns_and_says_so():
    done = import_now("phone,first_name,,\n\n+12025550101,Ann,,\n,,,\n\n+12025550102,Bob\n\n")
    assert buckets(done) == {"imported": 2}
    assert done.blank_lines == 4
    assert done.total_rows == done.rows_done == 2
    assert Customer.objects.get(phone="+12025550101").attributes == {}


def test_it_understands_headers_with_spaces_and_odd_case():
    done = import_now("  PHONE NUMBER ; first   NAME;SurName ;E-Mail\n2025550101;Ann;Lee;ann@example.com\n")
    assert done.mapping == {"phone": 0, "first_name": 1, "last_name": 2, "email": 3, "ignore": []}
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name, customer.email) == ("Ann", "Lee", "ann@example.com")


def test_it_refuses_a_header_only_file_and_stores_nothing(media):
    with pytest.raises(ImportFileError, match="column names but no rows"):
        create_import(csv_file("phone,first_name\r\n\r\n"), None)
    assert not ContactImport.objects.exists()


@pytest.mark.parametrize("data, message", [
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "Excel workbook"),
    (b"%PDF-1.7\n" + bytes(range(256)), "PDF"),
    (bytes(range(256)) * 64, "not text"),
    (b"", "empty"),
])
def test_it_refuses_a_binary_file_with_a_clear_message_and_stores_nothing(media, data, message):
    with pytest.raises(ImportFileError, match=message):
        create_import(csv_file(data, name="contacts.xlsx"), None)
    assert not ContactImport.objects.exists()
    assert not (media.exists() and any(media.rglob("*.*")))


def test_a_short_latin1_file_is_not_mistaken_for_an_exotic_code_page():
    import_now("phone,first_name\n+12025550101,Zoë\n".encode("latin-1"))
    assert Customer.objects.get().first_name == "Zoë"


def test_a_cyrillic_windows_file_keeps_its_detected_encoding():
    done = import_now("phone,first_name\n+12025550101,Иван Петров\n+12025550102,Мария Сергеевна\n"
                      .encode("cp1251"))
    assert done.encoding == "cp1251"
    assert names() == [("Иван Петров", ""), ("Мария Сергеевна", "")]
