"""From ConnectWise contacts and Zendesk users to canonical records."""

from __future__ import annotations

import pytest

from app.services.integrations import (
    CONNECTWISE,
    ZENDESK,
    apply_mapping,
    default_mapping,
    extract,
    source_fields,
    split_name,
)
from app.services.user_schema import FIELD_NAMES


def _item(type_name, value, kind, *, default=False, extension=None):
    return {"type": {"id": 1, "name": type_name}, "value": value, "extension": extension,
            "defaultFlag": default, "communicationType": kind}


CONTACT = {
    "id": 123, "firstName": "Pat", "lastName": "O'Leary", "title": "Controller",
    "department": {"id": 1, "name": "Finance"}, "site": {"id": 2, "name": "Dublin"},
    "company": {"id": 250, "identifier": "ACME", "name": "Acme"},
    "defaultPhoneNbr": "555-0000", "defaultPhoneExtension": "9",
    "communicationItems": [
        _item("Email", "pat.old@acme.example", "Email"),
        _item("Email", "pat@acme.example", "Email", default=True),
        _item("Mobile", "(555) 123-4567", "Phone"),
        _item("Direct", "555-1234 x12", "Phone", default=True, extension="77"),
    ],
}


@pytest.mark.parametrize("full, first, last, warned", [
    ("Pat O'Leary", "Pat", "O'Leary", False),
    ("Smith, John", "John", "Smith", False),
    ("Mary Ann Smith", "Mary Ann", "Smith", True),
    ("Ludwig van Beethoven", "Ludwig", "van Beethoven", True),
    ("Cher", "Cher", "", True),
    ("  José   García  ", "José", "García", False),
    ("", "", "", False),
])
def test_name_splitting_rules(full, first, last, warned):
    split = split_name(full)
    assert (split.first, split.last) == (first, last)
    assert bool(split.warning) is warned


def test_more_than_two_words_warn_ambiguous_name_split():
    assert split_name("Mary Ann Smith").warning.startswith("ambiguous name split")


def test_default_mappings_cover_every_field_of_the_schema():
    for provider in (CONNECTWISE, ZENDESK):
        mapping = default_mapping(provider)
        assert tuple(mapping) == FIELD_NAMES
        assert mapping["username"] is None
    assert default_mapping(CONNECTWISE)["email"] == "email:default"
    assert default_mapping(ZENDESK)["first_name"] == "name:first"


def test_zendesk_custom_fields_are_offered_and_matched_by_header_name():
    users = [{"user_fields": {"department": "Sales", "employee_id": "7"}},
             {"user_fields": {"job_title": "Clerk"}}]
    keys = [f.key for f in source_fields(ZENDESK, users)]
    assert keys[:2] == ["name:first", "name:last"]
    assert keys[-3:] == ["user_fields.department", "user_fields.employee_id",
                         "user_fields.job_title"]
    mapping = default_mapping(ZENDESK, users)
    assert mapping["department"] == "user_fields.department"
    assert mapping["job_title"] == "user_fields.job_title"


def test_connectwise_source_fields_include_the_communication_items():
    fields = {f.key: f.label for f in source_fields(CONNECTWISE)}
    assert fields["email:default"] == "Default email"
    assert fields["phone:default"] == "Default phone"
    assert {"item:Direct", "item:Mobile", "department.name", "site.name"} <= set(fields)
    seen = source_fields(CONNECTWISE, [{"communicationItems": [_item("Pager", "1", "Phone")]}])
    assert seen[-1].key == "item:Pager"


def test_connectwise_contact_maps_with_default_email_and_default_phone_item():
    mapped = apply_mapping(CONNECTWISE, CONTACT, default_mapping(CONNECTWISE))
    assert mapped.source_key == "connectwise:contact:123"
    assert mapped.values == {
        "first_name": "Pat", "last_name": "O'Leary", "email": "pat@acme.example",
        "username": "", "phone": "555-1234 x12", "extension": "77", "department": "Finance",
        "location": "Dublin", "job_title": "Controller"}
    assert mapped.warnings == []


def test_connectwise_email_falls_back_to_the_first_email_item_with_a_warning():
    contact = {**CONTACT, "communicationItems": [_item("Email", "a@x.example", "Email"),
                                                 _item("Email", "b@x.example", "Email")]}
    mapped = apply_mapping(CONNECTWISE, contact, default_mapping(CONNECTWISE))
    assert mapped.values["email"] == "a@x.example"
    assert mapped.warnings[0][0] == "email" and "none marked default" in mapped.warnings[0][1]


def test_connectwise_phone_falls_back_to_the_contact_default_fields():
    contact = {**CONTACT, "communicationItems": [_item("Mobile", "555 9999", "Phone")]}
    assert extract(CONNECTWISE, contact, "phone:default") == "555-0000"
    assert extract(CONNECTWISE, contact, "phone:default:extension") == "9"
    assert extract(CONNECTWISE, contact, "item:Mobile") == "555 9999"
    bare = {"id": 1, "communicationItems": [_item("Mobile", "555 9999", "Phone")]}
    mapped = apply_mapping(CONNECTWISE, bare, {"phone": "phone:default"})
    assert mapped.values["phone"] == "555 9999" and "no default phone" in mapped.warnings[0][1]


def test_an_extension_written_in_the_phone_string_is_left_for_the_validator():
    assert extract(CONNECTWISE, CONTACT, "item:Direct") == "555-1234 x12"
    assert extract(CONNECTWISE, CONTACT, "item:Direct:extension") == "77"


def test_zendesk_user_maps_with_the_name_split_and_warnings():
    user = {"id": 456, "name": "Mary Ann Smith", "email": "mas@client.example",
            "phone": "+1 (555) 0100", "user_fields": {"department": "Sales"}}
    mapped = apply_mapping(ZENDESK, user, default_mapping(ZENDESK, [user]))
    assert mapped.source_key == "zendesk:user:456"
    assert (mapped.values["first_name"], mapped.values["last_name"]) == ("Mary Ann", "Smith")
    assert mapped.values["department"] == "Sales"
    assert mapped.values["phone"] == "+1 (555) 0100"
    assert len(mapped.warnings) == 1  # one warning even though two fields come from the name
    assert "ambiguous name split" in mapped.warnings[0][1]


def test_single_word_name_goes_to_first_name_with_a_warning():
    mapped = apply_mapping(ZENDESK, {"id": 1, "name": "Cher"}, default_mapping(ZENDESK))
    assert mapped.values["first_name"] == "Cher" and mapped.values["last_name"] == ""
    assert "only one name" in mapped.warnings[0][1]


def test_unknown_enlist_fields_in_a_saved_mapping_are_ignored_and_missing_values_empty():
    mapped = apply_mapping(ZENDESK, {"id": 9}, {"retired_field": "email", "email": "email",
                                                "location": "user_fields.office"})
    assert mapped.values["email"] == "" and mapped.values["location"] == ""
    assert set(mapped.values) == set(FIELD_NAMES)


def test_an_unknown_provider_is_a_programming_error():
    with pytest.raises(ValueError):
        source_fields("salesforce")
