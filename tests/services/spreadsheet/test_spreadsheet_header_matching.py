"""match_headers: spellings, unknown columns, duplicates and missing mandatory fields."""

from __future__ import annotations

import pytest

from app.services.spreadsheet.headers import ALIAS, EXACT, match_header, match_headers
from app.services.user_schema import USER_FIELDS


@pytest.mark.parametrize("header", ["First Name", "first name", "FIRST   NAME", "First Name*",
                                    " first_name ", "firstname", "Given name", "givenName",
                                    "First Name [Required]", "First name [givenName]"])
def test_spellings_of_first_name_all_match(header):
    assert match_header(header)[0] == "first_name"


def test_every_template_header_matches_its_own_field_exactly():
    for f in USER_FIELDS:
        assert match_header(f.template_header) == (f.name, EXACT)


def test_unknown_columns_are_listed_and_ignored():
    match = match_headers(["First Name", "Shoe size", "Email", "", "Badge #"])
    assert match.columns == {"first_name": 0, "email": 2}
    assert match.unknown == ["Shoe size", "Badge #"]  # a blank header is not reported


def test_missing_mandatory_fields_are_named_but_username_is_derivable():
    match = match_headers(["First Name", "Email"])
    assert match.missing_mandatory == ["last_name", "phone"]
    assert "username" not in match.missing_mandatory


def test_the_first_of_two_equal_columns_wins_and_the_other_is_reported():
    match = match_headers(["Work Phone", "First Name", "Mobile", "Email"])
    assert match.columns["phone"] == 0
    assert match.duplicates == {"phone": ["Mobile"]}


def test_an_exact_header_beats_an_earlier_alias():
    match = match_headers(["Cell", "Phone", "Email"])
    assert match.columns["phone"] == 1
    assert match.duplicates == {"phone": ["Cell"]}


def test_entra_office_attribute_wins_location_over_city_and_usage_location_is_ignored():
    match = match_headers(["Usage location [usageLocation]", "Office [physicalDeliveryOfficeName]",
                           "City [city]"])
    assert match.columns == {"location": 1}
    assert match.duplicates == {"location": ["City [city]"]}
    assert match.unknown == ["Usage location [usageLocation]"]  # a licensing country code, not an office


@pytest.mark.parametrize("header", ["Name [displayName] Required",
                                    "Initial password [passwordProfile] Required",
                                    "Block sign in (Yes/No) [accountEnabled] Required",
                                    "Email [otherMails]"])
def test_a_bracketed_attribute_we_do_not_store_makes_the_column_unknown(header):
    # The bracket names the directory attribute: "Email [otherMails]" is not the user's mail.
    assert match_header(header) == (None, 0)


@pytest.mark.parametrize("header, field, strength", [
    ("User name [userPrincipalName] Required", "username", ALIAS),
    ("Office phone [telephoneNumber]", "phone", EXACT),
    ("Department [department]", "department", EXACT),
    ("Last name [surname]", "last_name", ALIAS),
    ("Email Address [Required]", "email", ALIAS),
    ("Recovery Phone [MUST BE IN THE E.164 FORMAT]", None, 0),
])
def test_vendor_template_headers(header, field, strength):
    assert match_header(header) == (field, strength)


def test_columns_are_listed_in_sheet_order():
    match = match_headers(["Email", "Last Name", "First Name"])
    assert list(match.columns) == ["email", "last_name", "first_name"]
