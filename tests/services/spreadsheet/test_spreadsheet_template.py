"""The Excel template: derived from the schema, readable back by openpyxl and by read_table."""

from __future__ import annotations

import io

import openpyxl
import pytest

from app.services.spreadsheet import read_table
from app.services.spreadsheet.headers import match_headers
from app.services.spreadsheet.template import TEXT_ROWS, write_template
from app.services.user_schema import FIELD_NAMES, MANDATORY_FIELDS, USER_FIELDS


@pytest.fixture
def template_bytes() -> bytes:
    """The template for a deployment with a UPN suffix."""
    stream = io.BytesIO()
    write_template(stream, upn_suffix="acme.example", deployment_name="Acme Dental")
    return stream.getvalue()


@pytest.fixture
def book(template_bytes):
    """The template opened with openpyxl."""
    return openpyxl.load_workbook(io.BytesIO(template_bytes))


def test_users_sheet_comes_first_with_starred_mandatory_headers(book):
    users = book.worksheets[0]
    assert users.title == "Users" and book.sheetnames == ["Users", "Instructions"]
    headers = [cell.value for cell in users[1]]
    assert headers == [f.template_header for f in USER_FIELDS]
    starred = {f.name for f, h in zip(USER_FIELDS, headers) if h.endswith("*")}
    assert starred == set(MANDATORY_FIELDS)


def test_header_row_is_bold_and_frozen(book):
    users = book["Users"]
    assert all(cell.font.b for cell in users[1])
    assert users.freeze_panes == "A2"
    assert users.column_dimensions["A"].width >= 14


def test_phone_extension_and_username_columns_are_text_for_many_rows(book):
    users = book["Users"]
    for index, f in enumerate(USER_FIELDS, 1):
        formats = {users.cell(row=r, column=index).number_format for r in (2, TEXT_ROWS + 1)}
        assert (formats == {"@"}) == f.as_text, f.name
    assert {f.name for f in USER_FIELDS if f.as_text} >= {"phone", "extension", "username"}


def test_each_column_has_an_input_message_and_a_length_limit(book):
    validations = book["Users"].data_validations.dataValidation
    assert len(validations) == len(USER_FIELDS)
    by_column = {str(v.sqref).split(":")[0]: v for v in validations}
    phone_column = openpyxl.utils.get_column_letter(FIELD_NAMES.index("phone") + 1)
    phone = by_column[f"{phone_column}2"]
    assert phone.type == "textLength" and phone.formula1 == "32"
    assert phone.showInputMessage and "Digits only" in phone.prompt


def test_instructions_state_the_rules_and_the_upn_suffix(book):
    text = "\n".join(str(v) for row in book["Instructions"].iter_rows(values_only=True)
                     for v in row if v)
    for expected in ("Acme Dental", "username@acme.example", "one row per user",
                     "Do not rename", "digits only, no parentheses, spaces",
                     "Extension: optional", "special characters"):
        assert expected in text


def test_instructions_without_a_upn_suffix_say_what_it_will_be():
    stream = io.BytesIO()
    write_template(stream, upn_suffix=None, deployment_name=None)
    sheet = openpyxl.load_workbook(stream)["Instructions"]
    assert any("UPN suffix" in str(row[0]) for row in sheet.iter_rows(values_only=True))


def test_a_filled_template_reads_back_with_leading_zeros(template_bytes, tmp_path):
    book = openpyxl.load_workbook(io.BytesIO(template_bytes))
    users = book["Users"]
    values = {"first_name": "Zoë", "last_name": "Ng", "email": "zoe@acme.example",
              "phone": "05551234567", "extension": "007"}
    for name, value in values.items():
        users.cell(row=2, column=FIELD_NAMES.index(name) + 1, value=value)
    book.save(tmp_path / "filled.xlsx")
    table = read_table(str(tmp_path / "filled.xlsx"), "filled.xlsx")
    match = match_headers(table.headers)
    assert match.missing_mandatory == [] and match.unknown == []
    row = table.rows[0][1]
    assert {name: row[match.columns[name]] for name in values} == values
    assert table.rows[0][0] == 2 and len(table.rows) == 1
