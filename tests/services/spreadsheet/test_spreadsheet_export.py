"""Error reports and results files: formula-like cells defused in CSV and XLSX."""

from __future__ import annotations

import codecs
import io

import openpyxl
import pytest

from app.services.spreadsheet.export import neutralise, write_csv, write_xlsx

DANGEROUS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t", "\r", "=HYPERLINK(\"http://x\",\"y\")"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_like_values_get_a_leading_apostrophe(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value, text", [("Pat", "Pat"), ("O'Leary", "O'Leary"), (None, ""),
                                         (5551234567, "5551234567"), (-3, "'-3"),
                                         ("a=b", "a=b"), ("", "")])
def test_other_values_are_text_and_unchanged(value, text):
    assert neutralise(value) == text


def test_csv_has_a_bom_accents_and_neutralised_cells():
    stream = io.BytesIO()
    write_csv(stream, ["First Name", "Note"], [["Hélène", "=1+1"], ["@SUM(A1)", None]])
    data = stream.getvalue()
    assert data.startswith(codecs.BOM_UTF8)
    assert data[3:].decode("utf-8").splitlines() == ["First Name,Note", "Hélène,'=1+1",
                                                     "'@SUM(A1),"]
    assert not stream.closed


def read_back(**kwargs):
    """Write an xlsx and open its first sheet with openpyxl."""
    stream = io.BytesIO()
    write_xlsx(stream, **kwargs)
    return openpyxl.load_workbook(io.BytesIO(stream.getvalue())).worksheets[0]


def test_xlsx_formula_like_cells_are_strings_with_quote_prefix():
    sheet = read_back(headers=["Value"], rows=[[v] for v in DANGEROUS] + [["plain"]])
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    for cell, value in zip(cells, DANGEROUS):
        assert cell.data_type == "s", value  # never "f": not a formula
        # XML parsing turns a bare CR into LF; the cell is still plain text.
        assert cell.value == value.replace("\r", "\n") and cell.quotePrefix
    assert cells[-1].value == "plain" and not cells[-1].quotePrefix


def test_xlsx_invalid_cells_are_red_with_the_message_as_a_comment():
    sheet = read_back(headers=["First Name", "Email"],
                      rows=[["O'Leary", "pat@x.example"], ["Ana", ""]],
                      cell_notes={(0, 0): "Names: letters, spaces and hyphens only.",
                                  (1, 1): "Email is required."},
                      invalid_cells={(0, 0), (1, 1)}, sheet_title="Errors: batch 7")
    assert sheet.title == "Errors  batch 7"
    bad_name, bad_email, good = sheet["A2"], sheet["B3"], sheet["B2"]
    assert bad_name.fill.fgColor.rgb.endswith("FFC7CE")
    assert bad_name.comment.text == "Names: letters, spaces and hyphens only."
    assert bad_email.comment.text == "Email is required." and bad_email.fill.fill_type == "solid"
    assert good.comment is None and good.fill.fill_type is None
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"


def test_xlsx_header_cells_are_neutralised_too():
    sheet = read_back(headers=["=cmd|' /C calc'!A0"], rows=[])
    assert sheet["A1"].data_type == "s" and sheet["A1"].quotePrefix
