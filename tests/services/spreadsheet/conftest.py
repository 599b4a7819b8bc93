"""Factories that write spreadsheet files by hand, hostile ones included, into tmp_path."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def content_types(workbook_type: str = SHEET_CT) -> str:
    """[Content_Types].xml declaring the workbook part with the given content type."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{workbook_type}"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )


def inline_row(number: int, values: list[str]) -> str:
    """A <row> of inline-string cells starting in column A."""
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
        for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def sheet_xml(rows_xml: str, dimension: str | None = None) -> str:
    """A worksheet part, with a <dimension ref=...> when given."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}">'
            f'{dim}<sheetData>{rows_xml}</sheetData></worksheet>')


def write_xlsx_by_hand(path: Path, sheet: str, *, workbook_type: str = SHEET_CT,
                       extra_parts: dict[str, bytes | str] | None = None) -> Path:
    """A minimal valid .xlsx package around one worksheet part, written with zipfile."""
    parts = {
        "[Content_Types].xml": content_types(workbook_type),
        "_rels/.rels": (f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="'
                        f'{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
                            '<sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/'
            'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": sheet,
        **(extra_parts or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


HEADER = ["First Name", "Last Name", "Email", "Phone"]
PAT = ["Pat", "Lee", "pat@client.example", "5551234567"]


@pytest.fixture
def hand_xlsx(tmp_path):
    """Write a hand-made .xlsx: hand_xlsx(rows_xml, dimension=None, name=..., **options)."""
    def make(rows_xml: str, dimension: str | None = None, name: str = "users.xlsx", **options):
        return write_xlsx_by_hand(tmp_path / name, sheet_xml(rows_xml, dimension), **options)
    return make


@pytest.fixture
def good_rows_xml() -> str:
    """A header row and one user, as worksheet XML."""
    return inline_row(1, HEADER) + inline_row(2, PAT)


@pytest.fixture
def openpyxl_file(tmp_path):
    """Write rows with openpyxl (values keep their types): openpyxl_file(rows, name=...)."""
    def make(rows: list[list], name: str = "users.xlsx", sheet_title: str = "Users") -> Path:
        book = Workbook()
        sheet = book.active
        sheet.title = sheet_title
        for row in rows:
            sheet.append(row)
        path = tmp_path / name
        book.save(path)
        return path
    return make


@pytest.fixture
def csv_file(tmp_path):
    """Write raw bytes (or text in UTF-8) to a file: csv_file(data, name=...)."""
    def make(data: bytes | str, name: str = "users.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path
    return make
