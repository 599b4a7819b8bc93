"""Hostile and broken uploads: each is refused with a SpreadsheetError and a clear code."""

from __future__ import annotations

import os
import struct
import time
import zipfile

import pytest

from app.services.spreadsheet import SpreadsheetError, guards, read_table, xlsx_reader
from app.services.spreadsheet import errors as E

MACRO_CT = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HEADER_ROW = ('<row r="1"><c r="A1" t="inlineStr"><is><t>First Name</t></is></c>'
              '<c r="B1" t="inlineStr"><is><t>Email</t></is></c></row>')
FAR_CELL = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


def refused(path, filename=None, **limits) -> SpreadsheetError:
    """The error read_table raises for this file."""
    with pytest.raises(SpreadsheetError) as caught:
        read_table(str(path), filename or os.path.basename(path), **limits)
    return caught.value


@pytest.fixture
def parser_must_not_run(monkeypatch):
    """Fail the test if the calamine child is started: the guard had to refuse the file first."""
    def started(*args, **kwargs):
        raise AssertionError("the parser ran; the guard should have refused the file")
    monkeypatch.setattr(xlsx_reader, "read_rows", started)


def test_empty_file_is_refused(csv_file):
    assert refused(csv_file(b"", "users.xlsx")).code == E.EMPTY_FILE


def test_renamed_exe_is_not_a_spreadsheet(csv_file):
    error = refused(csv_file(b"MZ\x90\x00\x03" + b"\x00" * 200, "users.xlsx"))
    assert error.code == E.NOT_A_SPREADSHEET
    assert "Windows program" in error.message


def test_truncated_zip_is_reported_as_damaged(hand_xlsx, good_rows_xml, tmp_path):
    whole = hand_xlsx(good_rows_xml).read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])  # the central directory is at the end: gone
    assert refused(cut).code == E.CORRUPT_FILE


def test_zip_bomb_with_huge_declared_size_is_refused_before_parsing(
        hand_xlsx, good_rows_xml, parser_must_not_run):
    path = hand_xlsx(good_rows_xml)
    data = bytearray(path.read_bytes())
    # Declare ~3.7 GB uncompressed for the sheet in the central directory, as a bomb would.
    entry = data.rindex(b"PK\x01\x02", 0, data.rindex(b"xl/worksheets/sheet1.xml"))
    struct.pack_into("<I", data, entry + 24, 0xDC000000)
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size == 0xDC000000
    error = refused(path)
    assert error.code == E.ZIP_BOMB
    assert "expands to" in error.message


def test_zip_bomb_by_compression_ratio_is_refused(hand_xlsx, good_rows_xml, parser_must_not_run):
    zeros = "0" * (8 * 1024 * 1024)  # deflates ~1000:1
    path = hand_xlsx(good_rows_xml, extra_parts={"xl/media/padding.xml": zeros})
    error = refused(path)
    assert error.code == E.ZIP_BOMB
    assert "xl/media/padding.xml" in error.message


def test_too_many_zip_entries_is_refused(hand_xlsx, good_rows_xml, monkeypatch,
                                         parser_must_not_run):
    monkeypatch.setattr(guards, "MAX_ZIP_ENTRIES", 20)
    parts = {f"xl/media/part{i}.xml": "x" for i in range(30)}
    assert refused(hand_xlsx(good_rows_xml, extra_parts=parts)).code == E.ZIP_BOMB


def test_xlsm_is_refused_by_extension(hand_xlsx, good_rows_xml, parser_must_not_run):
    error = refused(hand_xlsx(good_rows_xml, name="users.xlsm"))
    assert error.code == E.MACRO_ENABLED
    assert "Save it as .xlsx" in error.message


def test_xlsm_renamed_to_xlsx_is_refused_by_its_content_type(hand_xlsx, good_rows_xml,
                                                             parser_must_not_run):
    path = hand_xlsx(good_rows_xml, workbook_type=MACRO_CT, name="users.xlsx")
    assert refused(path).code == E.MACRO_ENABLED


def test_workbook_with_a_vba_project_is_refused(hand_xlsx, good_rows_xml, parser_must_not_run):
    path = hand_xlsx(good_rows_xml, extra_parts={"xl/vbaProject.bin": b"\x00" * 64})
    assert refused(path).code == E.MACRO_ENABLED


def test_encrypted_workbook_is_refused_as_password_protected(csv_file):
    # Encrypted .xlsx files are OLE compound files with an "EncryptionInfo" stream.
    body = CFB_MAGIC + b"\x00" * 500 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 500
    error = refused(csv_file(body, "users.xlsx"))
    assert error.code == E.PASSWORD_PROTECTED
    assert "password" in error.message


def test_old_xls_is_refused_with_save_as_advice(csv_file):
    body = CFB_MAGIC + b"\x00" * 500 + "Workbook".encode("utf-16-le") + b"\x00" * 500
    error = refused(csv_file(body, "users.xls"))
    assert error.code == E.LEGACY_XLS
    assert ".xlsx" in error.message


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "users.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert refused(path).code == E.NOT_A_SPREADSHEET


def test_entity_expansion_in_the_workbook_part_is_refused(tmp_path, good_rows_xml, hand_xlsx,
                                                          parser_must_not_run):
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
              '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
              '<workbook><sheets><sheet name="&lol3;" sheetId="1"/></sheets></workbook>')
    path = hand_xlsx(good_rows_xml, extra_parts={"xl/workbook.xml": laughs})
    assert refused(path).code == E.CORRUPT_FILE


def test_huge_declared_dimension_is_refused_before_parsing(hand_xlsx, parser_must_not_run):
    error = refused(hand_xlsx(HEADER_ROW, dimension="A1:XFD1048576"))
    assert error.code == E.SHEET_TOO_LARGE
    assert "A1:XFD1048576" in error.message


def test_far_cell_crashes_only_the_child_and_the_caller_reads_on(hand_xlsx, good_rows_xml):
    # No <dimension>: only the child's memory limit stands between calamine and a 500 GB alloc.
    path = hand_xlsx(HEADER_ROW + FAR_CELL, name="far.xlsx")
    error = refused(path)
    assert error.code == E.READER_CRASHED
    assert "XFD1048576" in error.message
    assert read_table(str(hand_xlsx(good_rows_xml)), "users.xlsx").rows[0][0] == 2


def test_far_cell_behind_a_lying_dimension_still_crashes_only_the_child(hand_xlsx):
    assert refused(hand_xlsx(HEADER_ROW + FAR_CELL, dimension="A1:B2")).code == E.READER_CRASHED


def test_child_memory_limit_stops_a_range_that_would_fit_without_it(hand_xlsx, good_rows_xml,
                                                                     monkeypatch):
    # A cell at J1048576 makes calamine allocate ~10M cells (~330 MB): fine under 1 GiB,
    # fatal under 256 MiB. Without a limit set in the child this file would be read.
    monkeypatch.setattr(xlsx_reader, "MEMORY_LIMIT_BYTES", 256 * 1024 * 1024)
    path = hand_xlsx(HEADER_ROW + '<row r="1048576"><c r="J1048576"><v>1</v></c></row>')
    assert refused(path).code == E.READER_CRASHED
    small = hand_xlsx(good_rows_xml, name="small.xlsx")  # the limit itself leaves room to work
    assert len(read_table(str(small), "small.xlsx").rows) == 1


def test_child_that_overruns_its_time_is_killed(hand_xlsx, good_rows_xml, monkeypatch):
    monkeypatch.setattr(xlsx_reader, "TIMEOUT_SECONDS", 0.001)
    assert refused(hand_xlsx(good_rows_xml)).code == E.READER_TIMEOUT


def test_child_sending_garbage_is_killed_not_waited_for(hand_xlsx, good_rows_xml, monkeypatch,
                                                       tmp_path):
    rogue = tmp_path / "rogue_child.py"
    rogue.write_text("import sys, time\nsys.stdout.buffer.write(b'\\xff' * 8)\n"
                     "sys.stdout.flush()\ntime.sleep(30)\n")
    monkeypatch.setattr(xlsx_reader, "CHILD_SCRIPT", str(rogue))
    monkeypatch.setattr(xlsx_reader, "EXIT_GRACE_SECONDS", 0.2)
    started = time.monotonic()
    assert refused(hand_xlsx(good_rows_xml)).code == E.READER_CRASHED
    assert time.monotonic() - started < 5


def test_malformed_sheet_xml_is_reported_as_damaged(hand_xlsx):
    path = hand_xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>First Name</t></is></c><row')
    error = refused(path)
    assert error.code == E.CORRUPT_FILE
    assert "damaged" in error.message


def test_text_named_xlsx_is_refused(csv_file):
    assert refused(csv_file("First Name,Email\n", "users.xlsx")).code == E.NOT_A_SPREADSHEET


def test_other_extensions_are_refused(csv_file):
    assert refused(csv_file("First Name,Email\n", "users.pdf")).code == E.NOT_A_SPREADSHEET


def test_oversized_file_is_refused(csv_file, monkeypatch):
    monkeypatch.setattr(guards, "MAX_FILE_BYTES", 10)
    assert refused(csv_file("First Name,Email\nPat,p@x.example\n")).code == E.FILE_TOO_LARGE
