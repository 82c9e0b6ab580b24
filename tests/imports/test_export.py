"""Campaign results as CSV, with nothing a spreadsheet would run."""

import csv
import io
from datetime import UTC, datetime

import pytest

from campaigns.imports.csv_safety import neutralise, unneutralise
from campaigns.models import Disposition, Lead
from tests import factory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("cell", ["=1+1", "+1 202", "-2", "@SUM(A1)", "\tx", "\rx", "\nx"])
def test_cells_that_start_like_a_formula_are_made_text(cell):
    assert neutralise(cell) == "'" + cell
    assert unneutralise(neutralise(cell)) == cell


@pytest.mark.parametrize("cell", ["Ann", "O'Brien", "'quoted'", "", 3])
def test_other_cells_are_left_alone(cell):
    assert neutralise(cell) == cell
    assert unneutralise(str(cell)) == str(cell)


def test_it_exports_one_row_per_lead_with_parameters_and_outcome(staff_client, campaign):
    ann = factory.customer("+12025550101", first_name="Ann", last_name="=cmd|'/c calc'!A1",
                           timezone="America/New_York")
    bob = factory.customer("+12025550102", first_name="Bob", last_name="")
    lead = factory.lead(
        campaign, ann, parameters={"plan": "gold", "note": "@risk"}, attempts=2,
        state=Lead.State.DONE, last_outcome=Disposition.CALLBACK_REQUESTED, notes="-call after 5",
        callback_at=datetime(2026, 5, 1, 17, 30, tzinfo=UTC),
    )
    factory.call(lead, status="no-answer")
    factory.call(lead, status="completed")
    factory.lead(campaign, bob, parameters={"plan": "silver"})

    response = staff_client.get(f"/campaigns/{campaign.pk}/export.csv")
    assert response["Content-Disposition"] == 'attachment; filename="spring-renewals-results.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["phone", "first_name", "last_name", "email", "timezone", "note", "plan", "state", "attempts",
         "last_call_status", "outcome", "notes", "callback_at", "last_error", "transferred_to"],
        ["'+12025550101", "Ann", "'=cmd|'/c calc'!A1", "", "America/New_York", "'@risk", "gold", "done", "2",
         "completed", "callback_requested", "'-call after 5", "2026-05-01T17:30:00+00:00", "", ""],
        ["'+12025550102", "Bob", "", "", "", "", "silver", "pending", "0", "", "", "", "", "", ""],
    ]
