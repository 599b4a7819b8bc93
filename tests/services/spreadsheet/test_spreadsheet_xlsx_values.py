"""What read_table makes of real workbook cells: typed values, title rows, ragged and empty rows."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from openpyxl import Workbook

from app.services.spreadsheet import SpreadsheetError, read_table
from app.services.spreadsheet import errors as E
from app.services.spreadsheet.child import cell_text

HEADER = ["First Name", "Last Name", "Email", "Phone"]


def read(path, **limits):
    """read_table on a file written by a fixture."""
    return read_table(str(path), path.name, **limits)


def test_numbers_typed_as_numbers_come_back_as_the_digits_typed(openpyxl_file):
    table = read(openpyxl_file([HEADER + ["Extension", "Job Title"],
                                ["Pat", "Lee", "pat@x.example", 5551234567, 42, 1.5]]))
    assert table.rows[0][1][3:] == ["5551234567", "42", "1.5"]


@pytest.mark.parametrize("value, text", [
    (5551234567.0, "5551234567"), (0.1 + 0.2, "0.3"), (-0.0, "0"), (1e20, "1e+20"),
    (12.50, "12.5"), (7, "7"), (True, "TRUE"), (False, "FALSE"), (None, ""),
    (dt.date(2024, 1, 2), "2024-01-02"), (dt.datetime(2024, 1, 2), "2024-01-02"),
    (dt.datetime(2024, 1, 2, 13, 45, 10), "2024-01-02T13:45:10"), (dt.time(9, 30), "09:30:00"),
    ("  Zoë  ", "Zoë"), (unicodedata.normalize("NFD", "Zoë"), "Zoë"),
])
def test_cell_text_normalises_each_kind_of_value(value, text):
    assert cell_text(value) == text


def test_dates_and_booleans_in_a_workbook_become_iso_and_true_false(openpyxl_file):
    table = read(openpyxl_file([HEADER + ["Department", "Location", "Job Title"],
                                ["Pat", "Lee", "p@x.example", "1", dt.date(2024, 3, 1),
                                 dt.datetime(2024, 3, 1, 8, 15), True]]))
    assert table.rows[0][1][4:] == ["2024-03-01", "2024-03-01T08:15:00", "TRUE"]


def test_text_is_trimmed_and_nfc_normalised(openpyxl_file):
    decomposed = unicodedata.normalize("NFD", "Hélène")
    table = read(openpyxl_file([HEADER, [f"  {decomposed} ", "Lee", "p@x.example", "1"]]))
    first = table.rows[0][1][0]
    assert first == "Hélène" and unicodedata.is_normalized("NFC", first)


def test_title_rows_above_the_headers_are_skipped_and_row_numbers_kept(openpyxl_file):
    path = openpyxl_file([["Acme Corp - staff list"], [], HEADER, ["Pat", "Lee", "p@x.example",
                                                                   "1"], [], ["Ana", "Ruiz",
                                                                              "a@x.example", "2"]])
    table = read(path)
    assert table.header_row == 3
    assert table.headers == HEADER
    assert [number for number, _ in table.rows] == [4, 6]  # the empty row 5 is skipped


def test_ragged_rows_are_padded_and_cut_to_the_header_width(openpyxl_file):
    table = read(openpyxl_file([HEADER, ["Pat", "Lee"], ["Ana", "Ruiz", "a@x.example", "2",
                                                         "a note without a header"]]))
    assert table.rows == [(2, ["Pat", "Lee", "", ""]), (3, ["Ana", "Ruiz", "a@x.example", "2"])]


def test_a_row_with_values_only_beyond_the_headers_is_skipped(openpyxl_file):
    table = read(openpyxl_file([HEADER, ["Pat", "Lee", "p@x.example", "1"],
                                [None, None, None, None, "stray"]]))
    assert [number for number, _ in table.rows] == [2]


def test_upn_values_are_kept_whole(openpyxl_file):
    table = read(openpyxl_file([["First Name", "Username"], ["Pat", "pat.lee@client.example"]]))
    assert table.rows[0][1][1] == "pat.lee@client.example"


def test_first_visible_sheet_is_read_and_named(tmp_path):
    book = Workbook()
    book.active.title = "Old list"
    book.active.append(["nothing", "here"])
    book.active.sheet_state = "hidden"
    book.create_sheet("Staff").append(HEADER)
    book["Staff"].append(["Pat", "Lee", "p@x.example", "1"])
    book.save(tmp_path / "two.xlsx")
    table = read(tmp_path / "two.xlsx")
    assert table.sheet_name == "Staff" and table.rows[0][1][0] == "Pat"


def test_headers_only_has_its_own_code(openpyxl_file):
    with pytest.raises(SpreadsheetError) as caught:
        read(openpyxl_file([["Staff"], HEADER]))
    assert caught.value.code == E.HEADERS_ONLY
    assert "row 2" in caught.value.message


def test_a_sheet_without_recognisable_headers_is_refused(openpyxl_file):
    with pytest.raises(SpreadsheetError) as caught:
        read(openpyxl_file([["Nom", "Courriel"], ["Pat", "p@x.example"]]))
    assert caught.value.code == E.NO_HEADER_ROW


def test_an_empty_sheet_is_refused_as_empty(openpyxl_file):
    with pytest.raises(SpreadsheetError) as caught:
        read(openpyxl_file([]))
    assert caught.value.code == E.EMPTY_FILE


def test_more_rows_than_allowed_is_refused(openpyxl_file):
    rows = [HEADER] + [[f"P{i}", "Lee", f"p{i}@x.example", "1"] for i in range(40)]
    assert read(openpyxl_file(rows), max_rows=40).rows[-1][0] == 41
    with pytest.raises(SpreadsheetError) as caught:
        read(openpyxl_file(rows), max_rows=39)
    assert caught.value.code == E.TOO_MANY_ROWS
    with pytest.raises(SpreadsheetError) as caught:  # the child stops sending after 5 + 21 rows
        read(openpyxl_file(rows), max_rows=5)
    assert caught.value.code == E.TOO_MANY_ROWS


def test_more_columns_than_allowed_is_refused(openpyxl_file):
    path = openpyxl_file([HEADER + ["Department"], ["Pat", "Lee", "p@x.example", "1", "Sales"]])
    assert len(read(path, max_columns=5).headers) == 5
    with pytest.raises(SpreadsheetError) as caught:
        read(path, max_columns=4)
    assert caught.value.code == E.TOO_MANY_COLUMNS
