"""CSV uploads: encodings, delimiters, title rows and the other vendors' templates."""

from __future__ import annotations

import codecs
import unicodedata

import pytest

from app.services.spreadsheet import SpreadsheetError, read_table
from app.services.spreadsheet import errors as E
from app.services.spreadsheet.headers import match_headers

ACCENTED = "First Name,Last Name,Email,Phone\r\nHélène,Müller,h@x.example,5551234567\r\n"


def read(path, **limits):
    """read_table on a file written by a fixture."""
    return read_table(str(path), path.name, **limits)


def first_user(path) -> list[str]:
    """The cells of the first data row."""
    return read(path).rows[0][1]


def test_utf8_with_bom_has_a_clean_first_header(csv_file):
    table = read(csv_file(codecs.BOM_UTF8 + ACCENTED.encode("utf-8")))
    assert table.headers[0] == "First Name"
    assert table.rows == [(2, ["Hélène", "Müller", "h@x.example", "5551234567"])]


def test_utf8_without_bom(csv_file):
    assert first_user(csv_file(ACCENTED.encode("utf-8")))[:2] == ["Hélène", "Müller"]


def test_decomposed_accents_are_composed_nfc(csv_file):
    decomposed = unicodedata.normalize("NFD", ACCENTED)
    assert decomposed != ACCENTED
    assert first_user(csv_file(decomposed))[:2] == ["Hélène", "Müller"]


def test_windows_1252_accents_are_decoded(csv_file):
    assert first_user(csv_file(ACCENTED.encode("cp1252")))[:2] == ["Hélène", "Müller"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_or_without_bom(csv_file, encoding):
    # "utf-16" writes a BOM; the -le/-be codecs do not, so the NULs must give them away.
    data = ACCENTED.replace(",", "\t").encode(encoding)
    assert first_user(csv_file(data, "users.txt"))[:2] == ["Hélène", "Müller"]


def test_nul_byte_in_a_utf8_file_is_refused(csv_file):
    with pytest.raises(SpreadsheetError) as caught:
        read(csv_file(b"First Name,Email\r\nPat\x00,p@x.example\r\n"))
    assert caught.value.code == E.NUL_BYTE


def test_unknown_encoding_is_refused(csv_file):
    # 0x81 and 0x8D are invalid UTF-8 here and undefined in Windows-1252.
    with pytest.raises(SpreadsheetError) as caught:
        read(csv_file(b"First Name,Email\r\nP\x81t,p\x8d@x.example\r\n"))
    assert caught.value.code == E.UNKNOWN_ENCODING


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_delimiter_is_detected(csv_file, delimiter):
    text = f"First Name{delimiter}Email{delimiter}Job Title\r\nPat{delimiter}p@x.example{delimiter}"
    text += "Sales, EMEA\r\n" if delimiter != "," else '"Sales, EMEA"\r\n'
    table = read(csv_file(text))
    assert table.headers == ["First Name", "Email", "Job Title"]
    assert table.rows[0][1] == ["Pat", "p@x.example", "Sales, EMEA"]


def test_semicolon_file_with_commas_in_values_is_not_split_on_commas(csv_file):
    text = "First Name;Last Name;Job Title\r\nPat;Lee;Director, Sales, and Marketing\r\n"
    assert first_user(csv_file(text)) == ["Pat", "Lee", "Director, Sales, and Marketing"]


def test_excel_sep_line_sets_the_delimiter(csv_file):
    assert read(csv_file("sep=;\r\nFirst Name;Email\r\nPat;p@x.example\r\n")).headers == [
        "First Name", "Email"]


def test_title_rows_above_headers_in_csv(csv_file):
    table = read(csv_file("Staff list,,\r\nExported 2024-05-01,,\r\n,,\r\n"
                          "First Name,Last Name,Email\r\nPat,Lee,p@x.example\r\n"))
    assert table.header_row == 4
    assert table.rows == [(5, ["Pat", "Lee", "p@x.example"])]


def test_quoted_newline_counts_as_one_row(csv_file):
    table = read(csv_file('First Name,Job Title\r\nPat,"Head of\nSales"\r\nAna,CEO\r\n'))
    assert table.rows == [(2, ["Pat", "Head of\nSales"]), (3, ["Ana", "CEO"])]


def test_entra_bulk_create_template(csv_file):
    headers = ("Name [displayName] Required,User name [userPrincipalName] Required,"
               "Initial password [passwordProfile] Required,Block sign in (Yes/No) "
               "[accountEnabled] Required,First name [givenName],Last name [surname],"
               "Job title [jobTitle],Department [department],Usage location [usageLocation],"
               "Street address [streetAddress],State or province [state],Country or region "
               "[country],Office [physicalDeliveryOfficeName],City [city],ZIP or postal code "
               "[postalCode],Office phone [telephoneNumber],Mobile phone [mobile]")
    user = ("Pat Lee,pat.lee@client.onmicrosoft.com,Secret1!,No,Pat,Lee,Director,Sales,US,"
            "1 Main St,WA,United States,Head office,Seattle,98101,5551234567,5559876543")
    table = read(csv_file(f"version:v1.0\r\n{headers}\r\n{user}\r\n"))
    assert table.header_row == 2
    match = match_headers(table.headers)
    cells = table.rows[0][1]
    picked = {name: cells[index] for name, index in match.columns.items()}
    assert picked == {"username": "pat.lee@client.onmicrosoft.com", "first_name": "Pat",
                      "last_name": "Lee", "job_title": "Director", "department": "Sales",
                      "location": "Head office", "phone": "5551234567"}
    assert match.missing_mandatory == ["email"]  # Entra's template has no mail column


def test_google_workspace_template(csv_file):
    headers = ("First Name [Required],Last Name [Required],Email Address [Required],"
               "Password [Required],Org Unit Path [Required],Recovery Email,"
               "Recovery Phone [MUST BE IN THE E.164 FORMAT],Work Phone,Mobile Phone,"
               "Employee Title,Department,Building ID")
    user = "Pat,Lee,pat@client.example,Secret1!,/,me@home.example,+15550001111,5551234567,"
    user += "5559876543,Director,Sales,HQ"
    table = read(csv_file(f"{headers}\r\n{user}\r\n"))
    match = match_headers(table.headers)
    picked = {name: table.rows[0][1][index] for name, index in match.columns.items()}
    assert picked == {"first_name": "Pat", "last_name": "Lee", "email": "pat@client.example",
                      "phone": "5551234567", "job_title": "Director", "department": "Sales",
                      "location": "HQ"}
    assert match.missing_mandatory == []
    assert match.duplicates == {"phone": ["Mobile Phone"]}


def test_headers_only_csv_has_its_own_code(csv_file):
    with pytest.raises(SpreadsheetError) as caught:
        read(csv_file("First Name,Email\r\n,\r\n"))
    assert caught.value.code == E.HEADERS_ONLY


def test_too_many_csv_rows_is_refused(csv_file):
    text = "First Name,Email\r\n" + "".join(f"P{i},p{i}@x.example\r\n" for i in range(11))
    with pytest.raises(SpreadsheetError) as caught:
        read(csv_file(text), max_rows=10)
    assert caught.value.code == E.TOO_MANY_ROWS


def test_unclosed_quote_is_reported_with_its_row(csv_file):
    text = 'First Name,Email\r\nPat,"p@x.example\r\n' + "x" * 200_000
    with pytest.raises(SpreadsheetError) as caught:
        read(csv_file(text))
    assert caught.value.code == E.CORRUPT_FILE
    assert "quote" in caught.value.message


def test_our_own_neutralised_export_reads_back_unchanged(csv_file):
    text = "First Name,Phone,Job Title\r\nPat,'+15551234567,'=cmd\r\n"
    assert first_user(csv_file(text)) == ["Pat", "+15551234567", "=cmd"]
