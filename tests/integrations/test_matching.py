"""The matching service on its own: the skipped sentence, saved mappings that no longer apply, form parsing."""

from __future__ import annotations

from app.models import FetchState, IntegrationFetch
from app.services.integration_imports import matching
from app.services.integrations import CONNECTWISE, ZENDESK, FetchResult, SkippedRecord


def result(provider: str, skipped: list[tuple[str, str]]) -> FetchResult:
    return FetchResult(provider, 7, "Acme", records=[{"id": 1}],
                       skipped=[SkippedRecord(f"k{i}", name, reason) for i, (name, reason) in enumerate(skipped)])


def test_the_skipped_sentence_counts_and_names_each_reason():
    assert matching.skipped_summary(result(CONNECTWISE, [])) == ""
    assert matching.skipped_summary(result(CONNECTWISE, [("Pat Lee", "inactive")])) == \
        "Left out 1 inactive contact (Pat Lee)."
    text = matching.skipped_summary(result(ZENDESK, [("A", "agent"), ("B", "agent"), ("C", "admin"),
                                                     ("D", "suspended"), ("", "inactive"), ("F", "inactive")]), 3)
    assert text == ("Left out 2 agents (A, B), 1 admin (C), 1 suspended user (D) and 2 inactive users (F). "
                    "3 names were split into first and last name by guess: those rows carry a warning to check.")


def test_long_lists_of_names_are_cut():
    many = [(f"Person {n}", "inactive") for n in range(15)]
    text = matching.skipped_summary(result(CONNECTWISE, many))
    assert text.startswith("Left out 15 inactive contacts (Person 0, Person 1,") and "Person 10" not in text
    assert text.endswith("Person 9 and 5 more).")


def test_a_saved_mapping_applies_where_it_still_can_and_forms_cannot_smuggle_keys(app, acme, cw_account):
    cw_account.field_mapping = {"phone": "item:Pager", "job_title": None, "department": "site.name",
                                "no_such_field": "title"}
    records = [{"id": 1, "communicationItems": [{"type": {"name": "Direct"}, "value": "1"}]}]
    fetch = IntegrationFetch(deployment_id=acme.id, account_id=cw_account.id, provider=CONNECTWISE, remote_id="250",
                             state=FetchState.FETCHED, records=records, skipped=[])
    fetch.account = cw_account
    mapping = matching.initial_mapping(fetch, records)
    assert mapping["phone"] == "phone:default"  # the Pager items are not in this fetch: the default stays
    assert mapping["job_title"] is None and mapping["department"] == "site.name"
    assert "no_such_field" not in mapping
    parsed = matching.mapping_from_form(CONNECTWISE, {"map-first_name": "lastName", "map-email": "password",
                                                      "map-phone": "item:Direct"}, records)
    assert parsed["first_name"] == "lastName" and parsed["email"] is None and parsed["phone"] == "item:Direct"
    assert set(parsed) == set(mapping)
