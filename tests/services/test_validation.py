"""The one validator: every rule, its message and its suggested fix."""

import pytest

from app.services.validation import ERROR, WARNING, ValidationContext, has_errors, validate_record

VALID = {"first_name": "Zoë", "last_name": "Núñez-García", "email": "zoe@acme.example", "username": "zoe.nunez",
         "phone": "5551234567"}


def problems_of(**changes):
    """Problems of the valid record with some fields changed."""
    return validate_record({**VALID, **changes}, ValidationContext(upn_suffix="acme.example"))


def only(problems, field):
    """The single problem of a field."""
    found = [p for p in problems if p.field == field]
    assert len(found) == 1, found
    return found[0]


def test_accented_names_with_spaces_and_hyphens_are_valid():
    assert problems_of() == []
    assert problems_of(first_name="Mary Ann", last_name="Saint-Exupéry") == []


def test_apostrophe_in_a_name_is_an_error_suggesting_the_name_without_it():
    problem = only(problems_of(first_name="Pat", last_name="O'Leary"), "last_name")
    assert problem.severity == ERROR and problem.code == "special_characters"
    assert "letters, spaces and hyphens" in problem.message
    assert problem.suggestion == "OLeary"


@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>", "Bob2", "Ann_Lee", "J. Smith", "=cmd"])
def test_names_with_markup_digits_or_punctuation_are_errors(name):
    assert only(problems_of(first_name=name), "first_name").code == "special_characters"


@pytest.mark.parametrize("field", ["first_name", "last_name", "email", "phone"])
def test_each_mandatory_field_missing_is_an_error(field):
    problem = only(problems_of(**{field: "  "}), field)
    assert problem.code == "missing" and "mandatory" in problem.message


def test_missing_username_suggests_one_from_the_naming_policy():
    problem = only(problems_of(username=""), "username")
    assert problem.code == "missing" and problem.suggestion == "zoe.nunezgarcia"


@pytest.mark.parametrize("phone,digits", [("(555) 123-4567", "5551234567"), ("555 123 4567", "5551234567"),
                                          ("+1-555-123-4567", "15551234567")])
def test_phone_with_punctuation_is_an_error_suggesting_the_digits(phone, digits):
    problem = only(problems_of(phone=phone), "phone")
    assert problem.code == "not_digits" and "digits only" in problem.message
    assert problem.suggestion == digits


def test_extension_written_in_the_phone_is_pointed_out():
    problem = only(problems_of(phone="555-123-4567 x123"), "phone")
    assert problem.code == "extension_in_phone" and "x123" in problem.message
    assert problem.suggestion == "5551234567"


def test_extension_must_be_digits():
    assert only(problems_of(extension="12a"), "extension").suggestion == "12"


@pytest.mark.parametrize("email", ["pat", "pat@", "pat@@acme.example", "pat smith@acme.example"])
def test_invalid_email_is_an_error(email):
    assert only(problems_of(email=email), "email").code == "invalid_email"


def test_email_outside_the_upn_suffix_is_only_a_warning():
    problem = only(problems_of(email="zoe@gmail.com"), "email")
    assert problem.severity == WARNING and "acme.example" in problem.message
    assert not has_errors(problems_of(email="zoe@gmail.com"))


@pytest.mark.parametrize("username", ['a"b', "a/b", "a\\b", "a[b", "a]b", "a:b", "a;b", "a|b", "a=b", "a,b",
                                      "a+b", "a*b", "a?b", "a<b", "a>b", "a@b", "ab.", "a b"])
def test_usernames_invalid_for_windows_are_errors(username):
    problem = only(problems_of(username=username), "username")
    assert problem.severity == ERROR and "Windows sign-in name" in problem.message


def test_username_over_20_characters_is_cut_in_the_suggestion():
    problem = only(problems_of(username="a" * 21), "username")
    assert "at most 20" in problem.message and problem.suggestion == "a" * 20


def test_username_and_email_taken_in_the_deployment_name_the_owner():
    ctx = ValidationContext(username_owner=lambda n: "the user Ann Lee (zoe.nunez)" if n == "zoe.nunez" else None,
                            email_owner=lambda e: "the user Ann Lee (ann)" if e == "zoe@acme.example" else None)
    problems = validate_record(VALID, ctx)
    assert "Ann Lee" in only(problems, "username").message
    assert only(problems, "username").suggestion == "zoe.nunezgarcia"
    assert only(problems, "email").code == "duplicate_email"


def test_line_breaks_are_refused_in_any_field():
    assert only(problems_of(department="Sales\r\nX-Header: 1"), "department").code == "control_characters"


def test_values_longer_than_the_schema_allows_are_errors():
    problem = only(problems_of(job_title="x" * 129), "job_title")
    assert problem.code == "too_long" and "128" in problem.message
